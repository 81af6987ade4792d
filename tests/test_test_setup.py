"""The test suite's own set-up: hermetic git and DVC, MNIST fetched once per machine, no silent skips in CI."""

import gzip
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import types
from pathlib import Path

import pytest
from helpers import REPO_ROOT, removed_unless_a_test_failed
from hermetic import hermetic_environ
from mnist_for_tests import cache_folder, holds_mnist, mnist_folder

from mnist_pipeline.mnist_files import MNIST_SHA256
from mnist_pipeline.sources import FetchError


def hostile_home(home: Path) -> None:
    """A user whose settings break tests that inherit them: signed commits that cannot be signed, a hook that
    refuses every commit, and a DVC default remote that does not exist."""
    hooks = home / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho 'refused by the user hook' >&2\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    (home / ".gitconfig").write_text(textwrap.dedent(f"""\
        [commit]
            gpgsign = true
        [gpg]
            program = false
        [core]
            hooksPath = {hooks}
        """))
    dvc_config = home / ".config" / "dvc"
    dvc_config.mkdir(parents=True)
    (dvc_config / "config").write_text("[core]\n    remote = nowhere\n['remote \"nowhere\"']\n    url = /nonexistent\n")


def commit_and_read_dvc_remote(env: dict, repo: Path) -> tuple[subprocess.CompletedProcess, str]:
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=repo, env=env, check=True)
    committed = subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, env=env, capture_output=True, text=True)
    remote = subprocess.run(["dvc", "remote", "default"], cwd=repo, env=env, capture_output=True, text=True)
    return committed, remote.stdout.strip()


@pytest.mark.e2e
def test_a_users_global_git_and_dvc_settings_do_not_reach_the_tests(tmp_path):
    home = tmp_path / "home"
    hostile_home(home)
    user_env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}
    user_env.pop("DVC_GLOBAL_CONFIG_DIR", None)
    # The hostile settings do bite a process that inherits them...
    committed, remote = commit_and_read_dvc_remote(user_env, tmp_path / "exposed")
    assert committed.returncode != 0 and remote == "nowhere"
    # ...and not one that gets the tests' environment (the one this session runs in).
    isolated = hermetic_environ(user_env, tmp_path / "config")
    committed, remote = commit_and_read_dvc_remote(isolated, tmp_path / "isolated")
    assert committed.returncode == 0, committed.stderr
    assert remote == "No default remote set"
    assert os.environ["GIT_CONFIG_GLOBAL"] != str(Path.home() / ".gitconfig")  # this session is isolated too


def test_what_the_sessions_programs_leave_in_the_temporary_folder_goes_with_the_session():
    started = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
                             capture_output=True, text=True, check=True)
    folder = Path(started.stdout.strip())
    # The session's own folder (tests/conftest.py removes it as the session ends), not the system's.
    assert folder.name == "tmp" and folder.parent.name.startswith("mnist-tests-") and folder.is_dir()


def test_a_module_fixtures_folders_go_when_its_tests_pass_and_stay_when_one_fails(tmp_path):
    session = types.SimpleNamespace(testsfailed=2)
    request = types.SimpleNamespace(session=session)
    passed, failed = tmp_path / "passed", tmp_path / "failed"
    for folder in (passed, failed):
        (folder / ".dvc" / "cache").mkdir(parents=True)
        (folder / ".dvc" / "cache" / "model").write_text("read-only, as DVC leaves its cache")
        (folder / ".dvc" / "cache" / "model").chmod(0o444)
    removed_unless_a_test_failed(request, 2, passed)
    assert not passed.exists()
    session.testsfailed = 3
    removed_unless_a_test_failed(request, 2, failed)
    assert (failed / ".dvc" / "cache" / "model").is_file()


@pytest.mark.e2e
def test_mnist_is_fetched_once_through_the_pipelines_sources_into_a_cache(tmp_path, serve, mnist_mirror):
    server = serve(mnist_mirror)
    params = tmp_path / "params.yaml"
    params.write_text((REPO_ROOT / "params.yaml").read_text())
    environ = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"), "MNIST_MIRROR": server.url}
    folder = mnist_folder(params, environ)
    assert folder == cache_folder(environ) == tmp_path / "cache" / "mnist-dvc-pipeline" / "mnist"
    assert holds_mnist(folder)
    assert all(gzip.decompress((folder / f"{name}.gz").read_bytes()) for name in MNIST_SHA256)
    server.close()  # the second call must not need any source
    assert mnist_folder(params, environ) == folder


def test_a_local_mirror_folder_is_used_as_it_is(mnist_mirror):
    assert mnist_folder(REPO_ROOT / "params.yaml", {"MNIST_MIRROR": str(mnist_mirror), "HOME": "/nonexistent"}) \
        == mnist_mirror


def test_a_fetch_that_fails_everywhere_fails_the_tests_rather_than_skipping(tmp_path, monkeypatch):
    import mnist_for_tests

    def no_sources(mirrors, **kwargs):
        return []

    monkeypatch.setattr(mnist_for_tests, "default_sources", no_sources)
    environ = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with pytest.raises(FetchError, match="MNIST_MIRROR"):
        mnist_folder(REPO_ROOT / "params.yaml", environ)


SKIPPING_TESTS = """
from ci_skips import skip_server_missing
import pytest

def test_skips_for_no_good_reason():
    pytest.skip("the data was not there")

def test_skips_because_a_server_is_missing():
    skip_server_missing("no sshd here")
"""


@pytest.mark.e2e
@pytest.mark.parametrize(("ci", "expected"), [("true", "2 failed"), ("", "2 skipped")])
def test_under_ci_no_test_may_skip_not_even_for_a_missing_server(tmp_path, ci, expected):
    (tmp_path / "test_skips.py").write_text(SKIPPING_TESTS)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(REPO_ROOT / "tests")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_skips", "-p", "no:cacheprovider", "-q",
                             "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert expected in result.stdout, result.stdout
    if ci:
        assert "skipped under CI=true, where every test must run: the data was not there" in result.stdout
        assert "skipped under CI=true, where every test must run: server program not installed: no sshd here" \
            in result.stdout


def test_every_declared_dependency_is_pinned_in_the_lock():
    """requirements.txt is the exact lock of both groups: the pipeline's and the development tools'."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pinned = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert len(declared) > 10
    for requirement in declared:
        assert re.sub(r"[-_.]+", "-", requirement).lower() in pinned, requirement


def test_a_command_that_hangs_fails_its_test_with_what_it_printed(tmp_path, monkeypatch):
    import helpers

    monkeypatch.setattr(helpers, "COMMAND_TIMEOUT", 0.5)
    project = helpers.Project(tmp_path, tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)^sh -c echo started; sleep 30 did not finish in 0\.5 s:\nstarted"):
        project.run("sh", "-c", "echo started; sleep 30")
