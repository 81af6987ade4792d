"""Bring any picture of a digit to the form of an MNIST digit, the way MNIST itself was made.

The models learnt from MNIST's digits, which are not just "an image scaled to 28x28": LeCun et al.
took each NIST digit, scaled it so that its bounding box fits a 20x20 box (aspect ratio kept, the
anti-aliasing giving grey levels), then placed it in a 28x28 frame so that its centre of mass lies at
the centre. The ink is bright (255) on a black (0) background. A photo or a drawing given to the models
must go through the same steps, or they see a digit that is too big, too small, off-centre or inverted,
and guess badly; :func:`to_mnist` does that. It is pure: it takes a Pillow image or an array, never a file.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.errors import PipelineError

# MNIST fits each digit's longer side to 20 pixels, leaving a margin of 4 pixels in the 28x28 frame.
DIGIT_BOX = 20
# Where MNIST's centres of mass lie, in (row, column) pixel indices: the mean over the test set is (13.99, 14.01).
CENTRE = (14.0, 14.0)
# Ink darker than this (of 255, once the background is 0) is noise: it neither makes a digit nor widens its box.
INK_THRESHOLD = 32
# A border whose median is lighter than this is paper, not the black background of MNIST.
LIGHT_BACKGROUND = 127
# ITU-R 601-2 luma, the weights Pillow's own conversion to grey uses.
_LUMA = np.array([0.299, 0.587, 0.114])


class ImageError(PipelineError):
    """An image that cannot become an MNIST digit: unreadable, of an unknown layout, or holding no digit."""


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """An image of one digit, of any size and colours, as a (28, 28) uint8 MNIST digit.

    Steps, each as MNIST was made: to grey (transparency composited onto white paper); inverted when the
    background is light, so the ink is bright on black; the background level subtracted and the contrast
    stretched, so grey paper or a faint pen gives the full 0-255 range of MNIST's strokes; cropped to the
    digit's bounding box; scaled, anti-aliased, so its longer side is 20 pixels; pasted into a 28x28 frame
    with its centre of mass at (14, 14).

    Arrays are (h, w) grey, (h, w, 2) grey and alpha, (h, w, 3) RGB or (h, w, 4) RGBA; uint8 is 0-255,
    uint16 0-65535, floats 0-1 (or 0-255 when any value is above 1).

    Raises:
        ImageError: an array of another shape, or an image with no digit in it (blank or uniform).
    """
    grey = to_grey(image)
    ink = _ink(grey)
    digit = _fit_box(_crop(ink))
    return _centre(digit)


def to_grey(image: Image.Image | np.ndarray) -> np.ndarray:
    """The image as (h, w) float64 grey levels in 0-255, any transparency composited onto white.

    White, not black, under transparent pixels: a digit drawn on a transparent canvas is ink on paper.
    """
    pixels = _pixels(image) if isinstance(image, Image.Image) else _scaled(np.asarray(image))
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        grey = pixels
    elif pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        colour, alpha = pixels[:, :, :-1], pixels[:, :, -1:] / 255
        grey = _grey(colour * alpha + 255 * (1 - alpha))
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        grey = _grey(pixels)
    else:
        raise ImageError(f"an image array of shape {pixels.shape} is neither (h, w) grey nor (h, w, 2-4) channels")
    if grey.size == 0:
        raise ImageError(f"the image is empty ({grey.shape[1]}x{grey.shape[0]} pixels): it holds no digit")
    return np.clip(grey, 0, 255)


def _grey(channels: np.ndarray) -> np.ndarray:
    return channels[:, :, 0] if channels.shape[2] == 1 else channels @ _LUMA


def _pixels(image: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as a float array in 0-255: grey, grey + alpha, RGB or RGBA."""
    # A phone's photo is stored sideways with an EXIF note to turn it; the digit must be upright.
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return _scaled(np.asarray(image))  # 16-bit and 32-bit grey: Pillow's "L" would clip, not scale
    has_alpha = bool({"A", "a"} & set(image.getbands())) or "transparency" in image.info
    if image.mode in ("L", "LA", "RGB", "RGBA") and "transparency" not in image.info:
        return np.asarray(image, dtype=np.float64)
    # Palette (with or without a transparent colour), 1-bit, CMYK, YCbCr, premultiplied alpha...: Pillow resolves them.
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float64)


def _scaled(array: np.ndarray) -> np.ndarray:
    """Pixel values of any dtype as floats in 0-255 (see :func:`to_mnist` for the conventions)."""
    if array.dtype == np.bool_:
        return array * 255.0
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ImageError(f"an image array of dtype {array.dtype} holds no pixel values")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise ImageError("the image holds NaN or infinite pixel values")
    top = values.max(initial=0)
    if array.dtype == np.uint16 or (np.issubdtype(array.dtype, np.integer) and top > 255):
        return values / 257  # 16-bit: 65535 is white, as 255 is in 8 bits
    if np.issubdtype(array.dtype, np.floating) and top <= 1:
        return values * 255
    return values


def _ink(grey: np.ndarray) -> np.ndarray:
    """Bright ink on a black background, full contrast: what an MNIST digit's pixels are.

    The background is read from the outermost rows and columns, which a single digit rarely touches:
    when their median is light, the picture is dark ink on paper and is inverted. The background's level
    is then subtracted, so grey paper becomes 0, and the strongest stroke is stretched to 255.
    """
    if np.median(_border(grey)) > LIGHT_BACKGROUND:
        grey = 255 - grey
    ink = np.clip(grey - np.median(_border(grey)), 0, None)
    if ink.max() < INK_THRESHOLD:
        raise ImageError("the image holds no digit: it is blank or of one uniform colour")
    return ink * (255 / ink.max())


def _border(grey: np.ndarray) -> np.ndarray:
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])


def _crop(ink: np.ndarray) -> np.ndarray:
    """The digit's bounding box: every row and column holding ink above the noise threshold."""
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit_box(digit: np.ndarray) -> np.ndarray:
    """Scale so the longer side is 20 pixels, keeping the aspect ratio, with an anti-aliasing filter.

    Resampling the float image (not 8-bit) keeps the grey levels the filter computes; Lanczos both
    anti-aliases a large digit and interpolates a small one smoothly. Its slight ringing is clipped.
    """
    height, width = digit.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow's (width, height)
    resized = Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float64), 0, 255)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste the digit into a black 28x28 frame, shifted by whole pixels so its centre of mass is at (14, 14).

    As LeCun et al. did: the centre of mass, not the bounding box's centre, so a 7's heavy top bar sits
    where it does in MNIST. A digit whose mass lies far off its box's centre would be pushed past the
    frame's edge; it is then moved only as far as the frame allows, keeping every stroke.
    """
    height, width = digit.shape
    total = digit.sum()
    if total <= 0:  # cannot happen after _ink found a stroke, but a division by zero must not pass silently
        raise ImageError("the image holds no digit: nothing is left after scaling it to 20x20")
    centre_row = np.arange(height) @ digit.sum(axis=1) / total
    centre_col = np.arange(width) @ digit.sum(axis=0) / total
    top = int(np.clip(round(CENTRE[0] - centre_row), 0, IMAGE_SIDE - height))
    left = int(np.clip(round(CENTRE[1] - centre_col), 0, IMAGE_SIDE - width))
    frame = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
    frame[top:top + height, left:left + width] = digit
    return np.round(frame).astype(np.uint8)
