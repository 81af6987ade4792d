"""Property-based: whatever bytes the IDX reader is fed, it returns a valid array or raises IdxError, nothing else."""

import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_pipeline.idx import MAX_PAYLOAD_BYTES, IdxError, parse_idx, parse_images, parse_labels, to_idx

VALID_IMAGES = to_idx(np.arange(2 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28))
VALID_LABELS = to_idx(np.array([3, 7, 9], dtype=np.uint8))


def parse_all_ways(data: bytes) -> None:
    for parse in (parse_idx, parse_images, parse_labels):
        try:
            array = parse(data)
        except IdxError:
            continue
        assert array.dtype == np.uint8
        assert array.nbytes <= MAX_PAYLOAD_BYTES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_idx_error(data):
    parse_all_ways(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([VALID_IMAGES, VALID_LABELS]), st.data())
def test_mutated_files_raise_only_idx_error(valid, data):
    mutated = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    parse_all_ways(bytes(mutated[:cut]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3), st.binary(max_size=32))
def test_any_header_claim_is_checked_before_allocating(shape, payload):
    header = struct.pack(f">HBB{len(shape)}I", 0, 0x08, len(shape), *shape)
    parse_all_ways(header + payload)
