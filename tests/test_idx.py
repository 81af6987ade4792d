"""The IDX parser against hand-built bytes: well-formed files, and every way a file can be malformed."""

import struct
import time

import numpy as np
import pytest

from mnist_pipeline.idx import (
    MAX_PAYLOAD_BYTES,
    IdxError,
    check_pair,
    parse_idx,
    parse_images,
    parse_labels,
    to_idx,
)


def header(*shape: int, type_code: int = 0x08, zeros: int = 0) -> bytes:
    """An IDX header written out by hand: two zero bytes, type code, number of dims, big-endian uint32 sizes."""
    return struct.pack(">HBB", zeros, type_code, len(shape)) + b"".join(struct.pack(">I", size) for size in shape)


def image_file(n: int, side: int = 28) -> bytes:
    return header(n, side, side) + bytes(i % 256 for i in range(n * side * side))


def test_header_helper_matches_the_spec_byte_for_byte():
    # Guards the helper the other tests rely on: magic 0x00000803, then 2, 28, 28 big-endian.
    assert header(2, 28, 28) == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")


def test_parse_idx_labels_from_hand_built_bytes():
    data = bytes.fromhex("00000801" "00000003") + bytes([7, 0, 9])
    labels = parse_idx(data)
    assert labels.dtype == np.uint8
    assert labels.tolist() == [7, 0, 9]


def test_parse_idx_keeps_c_order_of_a_3d_payload():
    data = header(2, 2, 3) + bytes(range(12))
    array = parse_idx(data)
    assert array.shape == (2, 2, 3)
    assert array[1, 0, 2] == 1 * 6 + 0 * 3 + 2
    np.testing.assert_array_equal(array.ravel(), np.arange(12))


def test_parse_images_and_labels_of_a_tiny_mnist_pair():
    images = parse_images(image_file(3))
    labels = parse_labels(header(3) + bytes([1, 2, 3]))
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert images[0, 0, 5] == 5 and images[2, 27, 27] == (3 * 784 - 1) % 256
    assert labels.tolist() == [1, 2, 3]
    check_pair(images, labels, name="train")  # same count: no error


def test_empty_files_are_well_formed():
    assert parse_labels(header(0)).shape == (0,)
    assert parse_images(header(0, 28, 28)).shape == (0, 28, 28)


@pytest.mark.parametrize("array", [
    np.array([0, 9, 255], dtype=np.uint8),
    np.arange(2 * 3, dtype=np.uint8).reshape(2, 3),
    np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8),
    np.zeros((0, 28, 28), dtype=np.uint8),
])
def test_to_idx_round_trip(array):
    data = to_idx(array)
    assert data[:4] == bytes([0, 0, 0x08, array.ndim])
    assert data[4:4 + 4 * array.ndim] == struct.pack(f">{array.ndim}I", *array.shape)
    parsed = parse_idx(data)
    assert parsed.shape == array.shape
    np.testing.assert_array_equal(parsed, array)


def test_to_idx_of_a_non_contiguous_view_writes_it_in_c_order():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4).T
    np.testing.assert_array_equal(parse_idx(to_idx(array)), array)


@pytest.mark.parametrize("array", [
    np.zeros(3, dtype=np.int64),
    np.zeros((1, 1, 1, 1), dtype=np.uint8),
    np.zeros((), dtype=np.uint8),
])
def test_to_idx_refuses_what_idx_ubyte_cannot_hold(array):
    with pytest.raises(ValueError, match="uint8 array of 1 to 3 dimensions"):
        to_idx(array)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "too short"),
    (b"\x00\x00\x08", "too short"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
    (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
    (header(1, type_code=0x0D) + b"\x00\x00\x00\x00", "type code 0x0d"),
    (header(1, type_code=0x09) + b"\x00", "type code 0x09"),
    (header(1, type_code=0x88) + b"\x00", "type code 0x88"),  # read unsigned: a signed read would say -0x78
    (header(), "0 dimensions"),
    (header(1, 1, 1, 1) + b"\x00", "4 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">2I", 1, 28), "truncated header"),
    (b"\x00\x00\x08\x01", "truncated header"),
    (header(2, 28, 28) + bytes(2 * 784 - 1), "truncated"),
    (header(3) + bytes(2), "truncated"),
    (header(3) + bytes(4), "trailing bytes"),
    (image_file(1) + b"\x00", "trailing bytes"),
])
def test_malformed_idx_is_refused_with_a_clear_message(data, message):
    with pytest.raises(IdxError, match=message):
        parse_idx(data, name="some-file")
    with pytest.raises(IdxError, match=r"^some-file: "):
        parse_idx(data, name="some-file")


def test_truncated_payload_message_gives_the_sizes():
    with pytest.raises(IdxError) as caught:
        parse_idx(header(2, 28, 28) + bytes(100), name="train-images")
    message = str(caught.value)
    assert "truncated" in message and "1568" in message and "found 100" in message


def test_oversized_header_is_refused_fast_without_allocating():
    data = header(10**9, 28, 28)  # 784 GB claimed, nothing behind it
    start = time.perf_counter()
    with pytest.raises(IdxError, match="limit") as caught:
        parse_idx(data, name="hostile")
    assert time.perf_counter() - start < 0.5
    assert f"{10**9 * 784} bytes, over" in str(caught.value)


def test_oversized_claim_is_refused_even_when_the_product_overflows_uint32():
    # 2**32 - 1 cubed wraps around in 32- or 64-bit arithmetic; Python ints must not.
    with pytest.raises(IdxError, match="limit"):
        parse_idx(header(2**32 - 1, 2**32 - 1, 2**32 - 1))


def test_an_empty_shape_whose_other_sizes_are_impossible_is_refused():
    # No bytes to hold, but more elements than numpy can index: found by test_idx_properties' random headers.
    with pytest.raises(IdxError, match=r"shape \(0, 4294967295, 4294967295\), no bytes but .* over the .* limit"):
        parse_idx(header(0, 2**32 - 1, 2**32 - 1))
    assert parse_idx(header(0, 28, 28)).shape == (0, 28, 28)  # an empty file of images is still an array


def test_payload_at_the_limit_is_judged_by_size_not_refused_as_oversized():
    # One byte under the limit, with no payload: the error is "truncated", not "over the limit".
    with pytest.raises(IdxError, match="truncated"):
        parse_idx(header(MAX_PAYLOAD_BYTES))
    with pytest.raises(IdxError, match="truncated"):  # a size of 1 multiplies by 1
        parse_idx(header(1, MAX_PAYLOAD_BYTES))
    with pytest.raises(IdxError, match="limit"):
        parse_idx(header(MAX_PAYLOAD_BYTES + 1))


def test_label_out_of_range_is_refused():
    with pytest.raises(IdxError, match="label 10 is not a digit"):
        parse_labels(header(3) + bytes([1, 10, 2]), name="train-labels")
    assert parse_labels(header(2) + bytes([0, 9])).tolist() == [0, 9]


def test_labels_must_be_one_dimensional():
    with pytest.raises(IdxError, match=r"shape \(1, 2\) is not \(n,\)"):
        parse_labels(header(1, 2) + bytes(2))


@pytest.mark.parametrize("shape", [(2, 27, 27), (1, 28, 29), (1, 29, 28)])
def test_images_of_the_wrong_side_are_refused(shape):
    data = header(*shape) + bytes(int(np.prod(shape)))
    with pytest.raises(IdxError, match=r"is not \(n, 28, 28\)"):
        parse_images(data, name="t10k-images")


@pytest.mark.parametrize("shape", [(784,), (2, 784)])
def test_images_must_be_three_dimensional(shape):
    with pytest.raises(IdxError, match=r"is not \(n, 28, 28\)"):
        parse_images(header(*shape) + bytes(int(np.prod(shape))))


def test_check_pair_refuses_a_count_mismatch():
    images = parse_images(image_file(3))
    labels = parse_labels(header(2) + bytes([4, 5]))
    with pytest.raises(IdxError, match="t10k: 3 images but 2 labels"):
        check_pair(images, labels, name="t10k")


@pytest.mark.parametrize(("extra", "state"), [(-1, "truncated"), (0, None), (1, "has trailing bytes")])
def test_a_payload_of_the_wrong_size_says_which_way_it_is_wrong(extra, state):
    data = to_idx(np.zeros((2, 3), dtype=np.uint8))
    data = data[:-1] if extra < 0 else data + b"\0" * extra
    if state is None:
        assert parse_idx(data).shape == (2, 3)
        return
    found = 6 + extra
    with pytest.raises(IdxError, match=rf"^IDX data: {state}: header shape \(2, 3\) needs 6 bytes of data, found "
                                       rf"{found}$"):
        parse_idx(data)


def test_the_readers_name_the_file_in_their_errors():
    broken = b"\1\0\x08\1" + struct.pack(">I", 1) + b"\0"
    with pytest.raises(IdxError, match=r"^train-images-idx3-ubyte: bad magic number 0x01000801 "):
        parse_images(broken, name="train-images-idx3-ubyte")
    with pytest.raises(IdxError, match=r"^train-labels-idx1-ubyte: bad magic number 0x01000801 "):
        parse_labels(broken, name="train-labels-idx1-ubyte")
    with pytest.raises(IdxError, match=r"^images: bad magic number"):
        parse_images(broken)
    with pytest.raises(IdxError, match=r"^labels: bad magic number"):
        parse_labels(broken)
