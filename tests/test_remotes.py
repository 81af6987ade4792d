"""DVC remotes against real storage servers: `dvc push`, a teammate's clone and `dvc pull`, and the run-cache.

Three kinds of remote, no mocks: a folder, S3 (SeaweedFS started on loopback, through `dvc-s3`) and SSH
(OpenSSH's sshd started on loopback, through `dvc-ssh`). The tiny pipeline runs once for the whole module.
A test that needs a server skips only when that server's program is not installed.
"""

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from ci_skips import skip_server_missing
from helpers import Project, clone
from storage_servers import OpenSSHServer, SeaweedS3, sshd_unusable_reason

# Every DVC-cached output, named one by one so a silently missing one fails the test.
CACHED_OUTPUTS = [
    "data/raw/train-images-idx3-ubyte", "data/raw/train-labels-idx1-ubyte",
    "data/raw/t10k-images-idx3-ubyte", "data/raw/t10k-labels-idx1-ubyte",
    "data/processed/mnist.npz", "models/logreg.skops", "models/nn.keras",
    "data/probabilities/logreg.npz", "data/probabilities/nn.npz",
    "reports/train_nn/metrics.json", "reports/train_nn/plots/metrics/train/loss.tsv",
    "reports/train_nn/plots/metrics/eval/accuracy.tsv",
    "reports/figures/confusion_logreg.png", "reports/figures/confusion_nn.png",
    "reports/figures/samples_logreg.png", "reports/figures/samples_nn.png",
    "reports/figures/misclassified_logreg.png", "reports/figures/misclassified_nn.png",
    "reports/figures/training_curves_nn.png",
]
RUN_CACHE_HIT = "Stage 'train_logreg' is cached - skipping run, checking out outputs"  # dvc/stage/cache.py


def cache_files(project: Project) -> set[str]:
    cache = project.root / ".dvc" / "cache"
    return {p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()}


@dataclass
class Remote:
    """A DVC remote: what every clone shares (committed to .dvc/config) and what stays local (credentials)."""

    name: str
    url: str
    # The files the storage holds, read without DVC; required, so "nothing stored" is always a real reading.
    list_files: Callable[[], list]
    shared: dict[str, str] = field(default_factory=dict)
    local: dict[str, str] = field(default_factory=dict)

    def add(self, project: Project, *, commit: bool) -> None:
        """Add the remote to ``project`` (`dvc remote add` and `modify`); with ``commit``, its shared part is
        committed to git, as a team would."""

        def add(config: dict) -> None:
            config["remote"][self.name] = {"url": self.url, **self.shared}

        project.edit_dvc_config("repo" if commit else "local", add)
        self.add_credentials(project)
        if commit:
            project.git("add", ".dvc/config")
            project.git("commit", "-qm", f"add remote {self.name}")

    def add_credentials(self, project: Project, *, default: bool = False) -> None:
        """The remote's local settings (`dvc remote modify --local`); with ``default``, it becomes the clone's
        default remote too (`dvc remote default --local`)."""

        def add(config: dict) -> None:
            config["remote"].setdefault(self.name, {}).update(self.local)
            if default:
                config["core"]["remote"] = self.name

        project.edit_dvc_config("local", add)

    def remove_local(self, project: Project) -> None:
        """`dvc remote remove --local`."""
        project.edit_dvc_config("local", lambda config: config["remote"].pop(self.name))


@pytest.fixture(scope="module")
def producer(project):
    """The tiny pipeline run and committed: the project whose results everyone else pulls."""
    project.env.pop("SSH_AUTH_SOCK", None)  # only the keys the tests configure, never an agent's
    outputs = project.output_digests()
    for output in CACHED_OUTPUTS:
        assert output in outputs, output
    return project


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory):
    reason = sshd_unusable_reason()
    if reason:
        skip_server_missing(reason)
    server = OpenSSHServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_remote(request, tmp_path):
    """Factory: a fresh, empty remote of the given kind, on its own storage location (in the test's ``tmp_path``,
    removed with it when the test passes)."""

    def make(kind: str, name: str) -> Remote:
        if kind == "folder":
            folder = tmp_path / f"{name}-storage"
            folder.mkdir()
            return Remote(name, str(folder), list_files=lambda: [p for p in folder.rglob("*") if p.is_file()])
        if kind == "s3":
            s3: SeaweedS3 = request.getfixturevalue("s3_server")
            return Remote(name, f"s3://{s3.BUCKET}/{name}", shared={"endpointurl": s3.endpoint},
                          local={"access_key_id": s3.access_key, "secret_access_key": s3.secret_key},
                          list_files=lambda: s3.list_files(name))
        if kind == "ssh":
            ssh: OpenSSHServer = request.getfixturevalue("ssh_server")
            folder = tmp_path / f"{name}-storage"
            folder.mkdir()
            return Remote(name, f"ssh://{ssh.user}@127.0.0.1:{ssh.port}{folder}",
                          local={"keyfile": str(ssh.user_key)},
                          list_files=lambda: [p for p in folder.rglob("*") if p.is_file()])
        raise ValueError(kind)

    return make


@pytest.mark.parametrize("kind", ["folder", "s3", "ssh"])
def test_push_then_a_teammates_clone_pulls_every_output(kind, producer, make_remote, tmp_path):
    remote = make_remote(kind, f"team-{kind}")
    remote.add(producer, commit=True)

    push_in_sync(producer, remote)
    stored = remote.list_files()
    assert len(stored) >= len(CACHED_OUTPUTS)  # the bytes are on the server, not only in DVC's view of it

    teammate = clone(producer, tmp_path / "clone")
    assert not (teammate.root / "models/logreg.skops").exists()
    remote.add_credentials(teammate)
    # Credentials live in the untracked .dvc/config.local only, never in what git shares.
    for secret in remote.local.values():
        assert secret not in (teammate.root / ".dvc/config").read_text()
        assert secret in (teammate.root / ".dvc/config.local").read_text()
    assert not teammate.git("status", "--porcelain").stdout.strip()

    teammate.dvc("pull", "-r", remote.name)
    assert teammate.output_digests() == producer.output_digests()  # every output, byte for byte
    assert "Data and pipelines are up to date." in teammate.dvc("status").stdout
    assert teammate.repro() == set()


def test_run_cache_restores_a_teammates_training_instead_of_rerunning_it(producer, make_remote, tmp_path):
    # One run shared through two kinds of remote: each teammate gets it from one of them.
    remotes = [make_remote("folder", "runs-folder"), make_remote("s3", "runs-s3")]
    variant = {"train_logreg": {"C": 0.123}}  # a C no one ran yet
    for remote in remotes:
        remote.add(producer, commit=True)
        producer.dvc("push", "-r", remote.name)  # the committed results, as after any run

    # The producer tries another C and shares the run, without committing it.
    producer.set_params(**variant)
    try:
        assert producer.repro() == {"train_logreg", "evaluate", "visualize"}
        model = (producer.root / "models/logreg.skops").read_bytes()
        for remote in remotes:
            producer.dvc("push", "--run-cache", "-r", remote.name)
    finally:
        producer.git("checkout", "--", ".")
        producer.dvc("checkout")
    assert "Data and pipelines are up to date." in producer.dvc("status").stdout

    # A teammate at the committed params sets the same C: the training comes from the remote, not from a rerun.
    for remote in remotes:
        teammate = clone(producer, tmp_path / f"clone-{remote.name}")
        remote.add_credentials(teammate, default=True)
        teammate.set_params(**variant)
        teammate.dvc("pull", "--run-cache")
        # `dvc pull --run-cache` brings the run records but only the committed outputs; `--pull` lets repro fetch
        # the outputs a record names (without it, the model is not in the cache and train_logreg reruns).
        output = teammate.dvc("repro", "--pull").stdout
        assert RUN_CACHE_HIT in output, (remote.name, output)
        assert "Running stage 'train_logreg'" not in output, remote.name
        # evaluate's run record travels, but not its outputs: they are committed to git (`cache: false`), and
        # `dvc push --run-cache` pushes only cached outputs. So it reruns here (seconds); a local repeat restores
        # it.
        assert "Running stage 'evaluate'" in output, remote.name
        assert (teammate.root / "models/logreg.skops").read_bytes() == model, remote.name


def push_in_sync(project: Project, remote: Remote) -> None:
    """Push to ``remote`` and check that DVC then finds cache and remote in sync."""
    pushed = project.dvc("push", "-r", remote.name)
    assert re.search(r"\d+ files? pushed", pushed.stdout), pushed.stdout
    assert f"Cache and remote '{remote.name}' are in sync." in project.dvc("status", "-c", "-r", remote.name).stdout


def assert_nothing_local_changed(project: Project, outputs: dict[str, str], cache: set[str]) -> None:
    """Outputs byte for byte, the DVC cache's files, and `dvc status` are as they were."""
    assert project.output_digests() == outputs
    assert cache_files(project) == cache
    assert "Data and pipelines are up to date." in project.dvc("status").stdout


def refused_push(producer: Project, remote: Remote) -> str:
    """Push to ``remote`` (configured for this push only), expect a refusal and return its message."""
    remote.add(producer, commit=False)
    try:
        push = producer.dvc("push", "-r", remote.name, check=False)
    finally:
        remote.remove_local(producer)
    assert push.returncode != 0
    return push.stdout + push.stderr


def test_s3_refuses_a_wrong_secret(producer, make_remote):
    remote = make_remote("s3", "wrong-secret")
    remote.local["secret_access_key"] = "not-" + remote.local["secret_access_key"]
    error = refused_push(producer, remote)
    assert "(403)" in error and "Forbidden" in error, error
    assert remote.list_files() == []


def test_ssh_refuses_a_key_it_does_not_know(producer, make_remote, ssh_server, tmp_path):
    remote = make_remote("ssh", "wrong-key")
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True,
                   capture_output=True)
    remote.local["keyfile"] = str(stranger)
    error = refused_push(producer, remote)
    assert f"Permission denied for user {ssh_server.user} on host 127.0.0.1" in error, error
    assert remote.list_files() == []


def test_push_to_a_stopped_s3_server_fails_cleanly_and_succeeds_once_it_is_back(producer, make_remote, s3_server):
    remote = make_remote("s3", "flaky")
    remote.add(producer, commit=False)
    outputs, cache = producer.output_digests(), cache_files(producer)
    try:
        s3_server.stop()
        # One attempt, not botocore's five with their back-off: the same failure, 4 s sooner.
        push = producer.run("dvc", "push", "-r", remote.name, check=False,
                            env={**producer.env, "AWS_MAX_ATTEMPTS": "1"})
        assert push.returncode != 0
        error = push.stdout + push.stderr
        assert f'Could not connect to the endpoint URL: "{s3_server.endpoint}/' in error, error
        assert_nothing_local_changed(producer, outputs, cache)
    finally:
        s3_server.start()
    try:
        push_in_sync(producer, remote)
    finally:
        remote.remove_local(producer)



def test_push_killed_halfway_loses_nothing_and_the_next_push_completes(producer, make_remote, s3_server):
    remote = make_remote("s3", "interrupted")
    remote.add(producer, commit=False)
    outputs, cache = producer.output_digests(), cache_files(producer)
    push = subprocess.Popen(["dvc", "push", "-r", remote.name], cwd=producer.root, env=producer.env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)
        os.killpg(s3_server.process.pid, signal.SIGSTOP)  # the server hangs mid-transfer
        time.sleep(2)
        assert push.poll() is None, "the push finished before it could be interrupted"
        os.killpg(push.pid, signal.SIGKILL)  # and the push dies without any chance to clean up
        push.wait(30)
    finally:
        os.killpg(s3_server.process.pid, signal.SIGCONT)
    try:
        assert_nothing_local_changed(producer, outputs, cache)
        push_in_sync(producer, remote)
    finally:
        remote.remove_local(producer)
