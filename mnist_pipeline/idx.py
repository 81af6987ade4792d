"""The IDX format of the MNIST files: parsing and writing, bytes in, arrays out.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order.
MNIST uses unsigned bytes only: images are (n, 28, 28), labels (n,).
"""

from __future__ import annotations

import struct

import numpy as np

from mnist_pipeline.digits import IMAGE_SIDE, N_CLASSES
from mnist_pipeline.errors import PipelineError

UBYTE = 0x08
MAX_DIMS = 3
# The largest IDX payload we agree to hold in memory; MNIST's biggest file is 47 MB.
MAX_PAYLOAD_BYTES = 512 * 2**20


class IdxError(PipelineError):
    """Bytes that are not a well-formed MNIST IDX file."""


def parse_idx(data: bytes, *, name: str = "IDX data") -> np.ndarray:
    """Parse an IDX file of unsigned bytes into an array of its declared shape.

    Raises:
        IdxError: bad magic number, a type other than unsigned byte, an impossible
            or oversized shape, or a payload shorter or longer than the header says.
    """
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zeros, type_code, n_dims = struct.unpack(">HBB", data[:4])
    if zeros != 0:
        raise IdxError(f"{name}: bad magic number 0x{data[:4].hex()} (an IDX file starts with two zero bytes)")
    if type_code != UBYTE:
        raise IdxError(f"{name}: type code 0x{type_code:02x} is not unsigned byte (0x08), which MNIST uses")
    if not 1 <= n_dims <= MAX_DIMS:
        raise IdxError(f"{name}: {n_dims} dimensions; MNIST files have 1 to {MAX_DIMS}")
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise IdxError(f"{name}: truncated header ({len(data)} of {header_size} bytes)")
    shape = struct.unpack(f">{n_dims}I", data[4:header_size])
    # Python ints cannot overflow, so the product is exact even for a hostile header. The product of the sizes
    # that are not zero is bounded too: an empty shape such as (0, 2**32 - 1, 2**32 - 1) holds no bytes, but is
    # more elements than numpy can index.
    payload_size, extent = 1, 1
    for size in shape:
        payload_size *= size
        extent *= max(size, 1)
    if extent > MAX_PAYLOAD_BYTES:
        claim = f"{payload_size} bytes" if payload_size else f"no bytes but {extent} elements beside its zero size"
        raise IdxError(f"{name}: header claims shape {shape}, {claim}, over the {MAX_PAYLOAD_BYTES} limit")
    actual = len(data) - header_size
    if actual != payload_size:
        state = "truncated" if actual < payload_size else "has trailing bytes"
        raise IdxError(f"{name}: {state}: header shape {shape} needs {payload_size} bytes of data, found {actual}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def parse_images(data: bytes, *, name: str = "images") -> np.ndarray:
    """Parse an IDX image file and check it holds 28x28 images: returns (n, 28, 28) uint8."""
    images = parse_idx(data, name=name)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise IdxError(f"{name}: shape {images.shape} is not (n, {IMAGE_SIDE}, {IMAGE_SIDE})")
    return images


def parse_labels(data: bytes, *, name: str = "labels") -> np.ndarray:
    """Parse an IDX label file and check every label is a digit: returns (n,) uint8."""
    labels = parse_idx(data, name=name)
    if labels.ndim != 1:
        raise IdxError(f"{name}: shape {labels.shape} is not (n,)")
    if labels.size and labels.max() >= N_CLASSES:
        raise IdxError(f"{name}: label {labels.max()} is not a digit 0-9")
    return labels


def check_pair(images: np.ndarray, labels: np.ndarray, *, name: str) -> None:
    """Raise :class:`IdxError` unless images and labels count the same samples."""
    if len(images) != len(labels):
        raise IdxError(f"{name}: {len(images)} images but {len(labels)} labels")


def to_idx(array: np.ndarray) -> bytes:
    """Serialise a uint8 array of 1 to 3 dimensions as IDX bytes (the inverse of :func:`parse_idx`)."""
    if array.dtype != np.uint8 or not 1 <= array.ndim <= MAX_DIMS:
        raise ValueError(f"to_idx takes a uint8 array of 1 to {MAX_DIMS} dimensions, got {array.dtype} {array.shape}")
    header = struct.pack(f">HBB{array.ndim}I", 0, UBYTE, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()
