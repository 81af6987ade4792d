"""Fixtures shared by the test layers."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_mirror() -> Path:
    """A folder holding the four canonical MNIST ``.gz`` files: $MNIST_MIRROR, else ``../shared/mnist``."""
    folder = Path(os.environ.get("MNIST_MIRROR") or REPO_ROOT.parent / "shared" / "mnist")
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST mirror at {folder}: set MNIST_MIRROR to a folder holding the four .gz files")
    return folder


PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "mnist_pipeline", "notebooks", ".gitignore")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
}


class Project:
    """A copy of the pipeline in its own git + DVC repository, driven through the real `dvc` CLI."""

    def __init__(self, root: Path, mirror: Path):
        self.root = root
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, **GIT_IDENTITY, "MNIST_MIRROR": str(mirror), "DVC_NO_ANALYTICS": "1",
                    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("dvc", *args, check=check)

    def git(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("git", *args)

    def repro(self, *args: str) -> set[str]:
        """Run `dvc repro` and return the names of the stages it ran."""
        output = self.dvc("repro", *args).stdout
        return set(re.findall(r"Running stage '([^']+)'", output))

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def set_params(self, **sections: dict) -> None:
        """Update ``params.yaml`` section by section, nested keys included."""
        params = self.params()
        for section, values in sections.items():
            _deep_update(params[section], values)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)


def _deep_update(target: dict, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


@pytest.fixture(scope="module")
def make_project(tmp_path_factory, mnist_mirror):
    """Factory: a fresh git + DVC repository holding the pipeline, with params updated as given."""

    def make(**params: dict) -> Project:
        root = tmp_path_factory.mktemp("project")
        for name in PROJECT_FILES:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, root / name)
        project = Project(root, mnist_mirror)
        project.git("init", "-q")
        project.dvc("init", "-q")
        project.dvc("config", "core.analytics", "false")
        project.set_params(**params)
        # dvclive needs a commit to exist; a real clone always has one.
        project.commit("pipeline")
        return project

    return make


# A configuration that runs every stage end to end in seconds: few digits, tiny models.
TINY_PARAMS = {
    "preprocess": {"val_size": 500, "train_limit": 1000},
    "train_logreg": {"max_iter": 30},
    "train_nn": {"batch_size": 100, "cnn": {"epochs": 2, "filters": [4], "dense_units": 8}},
    "visualize": {"n_samples": 10, "n_misclassified": 10, "dpi": 50},
}


@pytest.fixture(scope="module")
def project(make_project) -> Project:
    """The pipeline run once on the tiny configuration, results committed; shared by a test module."""
    project = make_project(**TINY_PARAMS)
    project.repro()
    project.commit("tiny run")
    return project
