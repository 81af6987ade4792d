"""Fixtures shared by the test layers."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hermetic import hermetic_environ
from local_http import LocalServer
from mnist_for_tests import mnist_folder

REPO_ROOT = Path(__file__).resolve().parents[1]

# A skip under CI=true fails the run unless a server program is missing (tests/ci_skips.py).
pytest_plugins = ["ci_skips"]


def pytest_configure(config):
    """Run the whole session, and every git and DVC it starts, apart from the user's own settings."""
    config_home = Path(tempfile.mkdtemp(prefix="mnist-tests-config-"))
    config.add_cleanup(lambda: shutil.rmtree(config_home, ignore_errors=True))
    environ = hermetic_environ(os.environ, config_home)
    os.environ.clear()
    os.environ.update(environ)


@pytest.fixture(scope="session")
def mnist_mirror() -> Path:
    """A folder holding the four canonical MNIST ``.gz`` files, fetched once per machine if need be."""
    return mnist_folder(REPO_ROOT / "params.yaml")


@pytest.fixture
def serve(monkeypatch):
    """Factory: a real HTTP server on 127.0.0.1 serving a folder, shut down after the test."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    servers = []

    def start(folder: Path) -> LocalServer:
        servers.append(LocalServer(folder))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


OUTPUT_FOLDERS = ("data", "models", "reports")
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "mnist_pipeline", "notebooks", ".gitignore")


class Project:
    """A copy of the pipeline in its own git + DVC repository, driven through the real `dvc` CLI."""

    def __init__(self, root: Path, mirror: Path):
        self.root = root
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, "MNIST_MIRROR": str(mirror),
                    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}

    def run(self, *command: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(command, cwd=self.root, env=env or self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("dvc", *args, check=check)

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
