"""What the test modules share: the repository's root, the tiny configuration, small models trained in seconds
(:func:`train_models`), and a copy of the pipeline in a git + DVC repository of its own, driven through the real
`dvc` and `git` (:class:`Project`)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

ALL_STAGES = frozenset({"fetch", "preprocess", "train_logreg", "train_nn", "evaluate", "visualize"})
OUTPUT_FOLDERS = ("data", "models", "reports")
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "mnist_pipeline", "notebooks", ".gitignore", "tune.yaml")

# A configuration that runs every stage end to end in seconds: few digits, tiny models.
TINY_PARAMS = {
    "preprocess": {"val_size": 500, "train_limit": 1000},
    "train_logreg": {"max_iter": 30},
    "train_nn": {"cnn": {"epochs": 2, "batch_size": 100, "filters": [4], "dense_units": 8}},
    "visualize": {"n_samples": 10, "n_misclassified": 10, "dpi": 50},
}


# Longer than any command of the tests takes, the full data's `dvc repro` of the slow tests included (4 minutes).
COMMAND_TIMEOUT = 900


class Project:
    """A copy of the pipeline in its own git + DVC repository, driven through the real `dvc` CLI."""

    def __init__(self, root: Path, mirror: Path):
        self.root = root
        self.mirror = mirror
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, "MNIST_MIRROR": str(mirror),
                    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}

    @classmethod
    def create(cls, root: Path, mirror: Path, **params: dict) -> Project:
        """The pipeline's files copied into ``root``, a new git + DVC repository there, params updated, committed."""
        for name in PROJECT_FILES:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, root / name)
        project = cls(root, mirror)
        project.git("init", "-q")
        project.dvc("init", "-q")
        project.dvc("config", "core.analytics", "false")
        project.set_params(**params)
        # dvclive needs a commit to exist; a real clone always has one.
        project.commit("pipeline")
        return project

    def copy(self, destination: Path) -> Project:
        """A copy of the whole repository (work tree, git history, DVC cache) at ``destination``."""
        shutil.copytree(self.root, destination, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(destination / ".dvc" / "tmp", ignore_errors=True)  # DVC's state: inodes of the original
        return Project(destination, self.mirror)

    def run(self, *command: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(command, cwd=self.root, env=env or self.env, capture_output=True, text=True,
                                    timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired as expired:
            # A command that hangs (a push to storage that takes nothing) fails its test instead of the whole run.
            output = [text.decode(errors="replace") if isinstance(text, bytes) else text or ""
                      for text in (expired.stdout, expired.stderr)]
            raise AssertionError(f"{' '.join(command)} did not finish in {COMMAND_TIMEOUT} s:\n" + "\n".join(output)) \
                from None
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("dvc", *args, check=check)

    def edit_dvc_config(self, level: str, edit: Callable[[dict], None]) -> None:
        """Change the project's DVC config at ``level`` ("repo": .dvc/config, "local": .dvc/config.local) as
        `dvc remote add`, `modify`, `default` and `remove` do: through DVC's own ``Config.edit``, validated and
        written the same, in this process, without a `dvc` process's start-up for each setting."""
        from dvc.config import Config

        with Config(dvc_dir=str(self.root / ".dvc")).edit(level) as config:
            edit(config)

    def git(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("git", *args)

    def repro(self, *args: str, env: dict | None = None) -> set[str]:
        """Run `dvc repro` and return the names of the stages it ran."""
        output = self.run("dvc", "repro", *args, env=env).stdout
        return set(re.findall(r"Running stage '([^']+)'", output))

    def output_digests(self) -> dict[str, str]:
        """SHA-256 of every file under the output folders, by path relative to the project."""
        files = {}
        for folder in OUTPUT_FOLDERS:
            for path in sorted((self.root / folder).rglob("*")):
                if path.is_file():
                    files[path.relative_to(self.root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        return files

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def set_params(self, **sections: dict) -> None:
        """Update ``params.yaml`` section by section, nested keys included."""
        params = self.params()
        for section, values in sections.items():
            deep_update(params[section], values)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)


def removed_unless_a_test_failed(request, failed_before: int, *folders: Path) -> None:
    """Remove a module fixture's ``folders`` (copies of the pipeline, a server's storage) as it is torn down, unless a
    test failed meanwhile (``failed_before``: the session's count of failures when the fixture was set up). What
    ``tmp_path_retention_policy = "failed"`` (pyproject.toml) does for each test's ``tmp_path``, done for the folders
    that pytest would otherwise keep until the session ends: a failed test's folders stay, to look into."""
    if request.session.testsfailed == failed_before:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def as_in_a_terminal() -> None:
    """A child's ``preexec_fn``: Ctrl-C's SIGINT with its default action, as a terminal's foreground program has it.

    A shell without job control starts background commands (`make test &`, some CI runners) with SIGINT ignored,
    and an ignored signal stays ignored across exec: a test that sends Ctrl-C would find it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def locked_out(lock_text: str, stage: str, path: str) -> dict:
    """The entry of ``stage``'s output ``path`` in the text of a dvc.lock (its ``md5``, ``size``...)."""
    (entry,) = [out for out in yaml.safe_load(lock_text)["stages"][stage]["outs"] if out["path"] == path]
    return entry


def deep_update(target: dict, values: dict) -> None:
    """Update the nested mapping ``target`` with ``values``, key by key at every level."""
    for key, value in values.items():
        if isinstance(value, dict):
            deep_update(target[key], value)
        else:
            target[key] = value


def train_models(folder: Path, x: np.ndarray, y: np.ndarray, *, max_iter: int, epochs: int, filters: list[int],
                 dense_units: int) -> Path:
    """A logistic regression and a CNN trained on ``x``, saved into ``folder`` as the pipeline saves them."""
    # Imported here: the modules that only need the rest of this file do not load TensorFlow.
    from mnist_pipeline.digits import flatten
    from mnist_pipeline.keras_io import save_keras
    from mnist_pipeline.logreg import TrainLogregParams, train_logreg
    from mnist_pipeline.nn import TrainNnParams, train_nn
    from mnist_pipeline.params import load_section, parse
    from mnist_pipeline.skops_io import save_skops

    # The committed kind of model (features and kernel), stopped after max_iter iterations.
    logreg = dataclasses.replace(load_section(REPO_ROOT / "params.yaml", "train_logreg", TrainLogregParams),
                                 max_iter=max_iter, tol=1e-3, seed=0)
    save_skops(train_logreg(flatten(x), y, logreg), folder / "logreg.skops")
    nn = parse(TrainNnParams, {
        "arch": "cnn", "compute": "portable", "warmup": 0.1, "label_smoothing": 0.0, "tta": False, "seed": 0,
        "towers": 1, "threads": 0,
        "augment": {"shift": 0.05, "rotation": 0.02, "zoom": 0.05},
        "cnn": {"epochs": epochs, "batch_size": 64, "learning_rate": 0.003, "precision": "float32",
                "filters": filters, "batch_norm": False, "dense_units": dense_units, "dropout": 0.2},
        "mlp": {"epochs": 1, "batch_size": 64, "learning_rate": 0.003, "precision": "float32", "hidden_units": [8],
                "dropout": 0.1},
    }, "train_nn")
    save_keras(train_nn(x[:-500], y[:-500], x[-500:], y[-500:], nn), folder / "nn.keras")
    return folder


def clone(producer: Project, destination: Path) -> Project:
    """A teammate's fresh clone of the producer's git repository (no DVC cache, no outputs)."""
    subprocess.run(["git", "clone", "-q", str(producer.root), str(destination)], check=True, env=producer.env,
                   capture_output=True)
    teammate = Project(destination, Path(producer.env["MNIST_MIRROR"]))
    teammate.env = dict(producer.env)
    return teammate
