"""Open a picture, a file or an upload's bytes, as one loaded Pillow image, upright, within a size limit.

Both ways in, ``mnist-predict``'s files and the drawing page's uploads, open pictures here, so they accept the
same formats, turn a phone's sideways photo upright the same way (its EXIF orientation), and refuse the same
bad inputs with the same messages.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_pipeline.app.imaging import ImageError

FORMATS = "PNG, JPEG, GIF, BMP, TIFF, WebP or another format Pillow reads"


class PictureTooLargeError(ImageError):
    """A picture with more pixels than the limit it was opened with (or than Pillow's own)."""


def open_picture(source: str | Path | bytes, *, max_pixels: int | None = None) -> Image.Image:
    """The picture at the path ``source``, or in the bytes ``source``, loaded and turned upright.

    ``max_pixels`` refuses a larger picture after reading its header only, before decoding it; Pillow's own
    decompression-bomb limit (about 179 megapixels) always holds.

    Raises:
        PictureTooLargeError: more pixels than ``max_pixels`` or Pillow's limit.
        ImageError: anything else that is no readable picture; the message says what, not which file.
    """
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)  # the header only
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image file") from None
    except PermissionError:
        raise ImageError("cannot be read: permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image file ({FORMATS})") from None
    except Image.DecompressionBombError:  # over twice Pillow's limit: refused as the header is read
        raise _too_large(max_pixels) from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError... for a damaged header
        raise _unreadable(error) from None
    with image:
        if max_pixels is not None and image.width * image.height > max_pixels:
            raise PictureTooLargeError(f"the image is {image.width}x{image.height} pixels, more than the limit of "
                                       f"{max_pixels // 10**6} megapixels: send a smaller one")
        try:
            image.load()
        except Image.DecompressionBombError:
            raise _too_large(max_pixels) from None
        except Exception as error:  # truncated or corrupt data: OSError, SyntaxError, ValueError, EOFError...
            raise _unreadable(error) from None
        # A phone stores its photo sideways with an EXIF note to turn it; the digit must be upright.
        return ImageOps.exif_transpose(image)


def _too_large(max_pixels: int | None) -> PictureTooLargeError:
    limit = min(max_pixels or 2 * Image.MAX_IMAGE_PIXELS, 2 * Image.MAX_IMAGE_PIXELS)
    return PictureTooLargeError(f"the image has more than {limit // 10**6} megapixels, the most that is read: send a "
                                f"smaller one")


def _unreadable(error: Exception) -> ImageError:
    return ImageError(f"cannot read the image, truncated or corrupt: {str(error) or type(error).__name__}")
