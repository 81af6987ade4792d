"""The one way a picture is opened, for mnist-predict's files and the drawing page's uploads alike."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from mnist_pipeline.app.imaging import ImageError
from mnist_pipeline.app.pictures import PictureTooLargeError, open_picture

NOISE = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))  # compresses badly
EXIF_ORIENTATION = 0x0112
ROTATED_90_CLOCKWISE = 6  # the camera held upright; the pixels stored sideways, to be turned 90° clockwise


def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels but that holds a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def sideways_photo() -> tuple[Image.Image, bytes]:
    """An upright picture (a bar at its top) and a JPEG of it stored as a phone does: turned, plus its EXIF note."""
    upright = np.full((60, 40), 255, np.uint8)
    upright[:10] = 0
    stored = Image.fromarray(upright).rotate(90, expand=True)  # what the sensor wrote: the bar now at the left
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CLOCKWISE
    return Image.fromarray(upright), encoded(stored, "JPEG", quality=95, exif=exif.tobytes())


def test_a_file_and_its_bytes_open_to_the_same_loaded_image(tmp_path):
    picture = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8))
    path = tmp_path / "digit.png"
    path.write_bytes(encoded(picture))
    from_file, from_bytes = open_picture(path), open_picture(path.read_bytes())
    assert np.array_equal(np.asarray(from_file), np.asarray(picture))
    assert np.array_equal(np.asarray(from_bytes), np.asarray(picture))


def test_a_phones_sideways_photo_is_turned_upright_once(tmp_path):
    upright, jpeg = sideways_photo()
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg)
    for opened in (open_picture(path), open_picture(jpeg)):
        assert opened.size == upright.size
        pixels = np.asarray(opened.convert("L"), dtype=float)
        assert pixels[:10].mean() < 40 and pixels[20:].mean() > 215  # the bar at the top again
        assert opened.getexif().get(EXIF_ORIENTATION, 1) == 1  # turning it again would do nothing


@pytest.mark.parametrize(("make", "message"), [
    (lambda folder: folder / "nope.png", "no such file"),
    (lambda folder: folder, "is a folder, not an image file"),
    (lambda folder: b"a note, not a picture\n", r"not an image file \(PNG, JPEG"),
    (lambda folder: encoded(NOISE)[:300], "cannot read the image, truncated or corrupt"),
], ids=["missing", "folder", "not-an-image", "truncated"])
def test_what_is_no_picture_gets_a_message(tmp_path, make, message):
    with pytest.raises(ImageError, match=message) as error:
        open_picture(make(tmp_path))
    assert not isinstance(error.value, PictureTooLargeError)


def test_the_pixel_limit_refuses_a_picture_by_its_header_before_decoding_it():
    with pytest.raises(PictureTooLargeError, match="8000x8000 pixels, more than the limit of 50 megapixels"):
        open_picture(png_declaring(8000, 8000), max_pixels=50_000_000)
    # Without a limit of its own, a picture Pillow can decode is decoded: here, to its damaged data.
    with pytest.raises(ImageError, match="truncated or corrupt"):
        open_picture(png_declaring(8000, 8000))


def test_a_decompression_bomb_is_refused_whatever_the_limit():
    with pytest.raises(PictureTooLargeError, match=r"^the image has more than 178 megapixels, the most that is read"):
        open_picture(png_declaring(100_000, 100_000))  # Pillow's own limit, twice its warning's
    with pytest.raises(PictureTooLargeError, match=r"^the image has more than 50 megapixels, the most that is read"):
        open_picture(png_declaring(100_000, 100_000), max_pixels=50_000_000)


def test_a_picture_the_user_may_not_read_is_named_so_not_called_corrupt(tmp_path, monkeypatch):
    # Root reads any file, so the refusal is simulated where Pillow opens it.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(ImageError, match=r"^cannot be read: permission denied$"):
        open_picture(tmp_path / "locked.png")
