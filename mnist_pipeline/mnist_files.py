"""The four canonical MNIST files and the SHA-256 of their uncompressed bytes."""

from __future__ import annotations

import hashlib

from mnist_pipeline.errors import PipelineError

# From http://yann.lecun.com/exdb/mnist/, uncompressed.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class ChecksumError(PipelineError):
    """Bytes whose SHA-256 is not the canonical one."""


def verify(name: str, data: bytes, *, source: object = None) -> bytes:
    """Return ``data`` if its SHA-256 is the canonical one for MNIST file ``name``.

    ``source`` (default: ``name``) is what the error message calls the data, a file path for example.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest != MNIST_SHA256[name]:
        raise ChecksumError(f"{source or name}: SHA-256 {digest} is not the canonical {MNIST_SHA256[name]}")
    return data
