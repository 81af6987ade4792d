"""Pictures of digits made the way people make them, from MNIST test digits: photos, pens, paper, drawing apps.

    python -m benchmarks.handwriting                 # each condition's accuracy with the workspace's models
    python -m benchmarks.handwriting --per-condition 50 --models-dir DIR
    python -m benchmarks.handwriting --seeds 1 2 3   # 300 pictures a condition, three seeds pooled

Each condition turns a digit of the MNIST test set (or, for ``other-writers``, one of scikit-learn's 8x8
``load_digits``) into the picture a user would hand to ``mnist-predict``: a phone photo of paper under uneven
light, a thin ballpoint or a fat marker, ruled or squared paper, dust and stray marks, a drawing app's
transparent canvas, a whole number on a sticky note. The pen follows the digit's own path (its skeleton) at the
width of that pen, so the shape is the writer's and the stroke is the tool's. Everything is drawn from a seeded
generator: the same seed gives the same pictures. ``tests/test_handwriting.py`` keeps floors per condition.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize
from skimage.transform import resize

from benchmarks import cli


@dataclasses.dataclass(frozen=True)
class Sample:
    """One picture, what is written on it (one digit, or a whole number), and the MNIST test digit it was drawn
    from (its index; -1 for other writers and numbers)."""

    image: Image.Image
    label: str
    source: int = -1


# --- pens -----------------------------------------------------------------------------------------------------------

def digit_shape(digit: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 digit's ink, cropped and scaled smoothly so it is ``height`` pixels tall: floats in 0-1."""
    rows, cols = np.flatnonzero(digit.max(axis=1) > 40), np.flatnonzero(digit.max(axis=0) > 40)
    crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(float) / 255
    scale = height / crop.shape[0]
    size = (height, max(2, round(crop.shape[1] * scale)))
    return np.clip(resize(np.pad(crop, 1), (size[0] + 2 * round(scale), size[1] + 2 * round(scale)), order=3), 0, 1)


def pen_path(digit: np.ndarray, height: int) -> np.ndarray:
    """The path the writer's pen took: the skeleton of the digit drawn ``height`` pixels tall (boolean)."""
    return skeletonize(digit_shape(digit, height) > 0.5)


def stroke(path: np.ndarray, width: float) -> np.ndarray:
    """A pen of ``width`` pixels moved along ``path``: ink coverage in 0-1 with an anti-aliased edge."""
    distance = ndimage.distance_transform_edt(~path)
    return np.clip(width / 2 + 0.5 - distance, 0, 1)


# --- paper, light and camera ----------------------------------------------------------------------------------------

def place(ink: np.ndarray, rng: np.random.Generator, margin: tuple[float, float] = (0.3, 1.2)) -> np.ndarray:
    """``ink`` at a random place on a larger blank sheet (margins a random fraction of the ink's size)."""
    height, width = ink.shape
    top, bottom, left, right = (round(rng.uniform(*margin) * side) + 4 for side in (height, height, width, width))
    sheet = np.zeros((height + top + bottom, width + left + right))
    sheet[top:top + height, left:left + width] = ink
    return sheet


def on_paper(ink: np.ndarray, paper, pen) -> np.ndarray:
    """RGB floats in 0-255: ``pen`` coloured ink (coverage 0-1) laid on ``paper`` coloured sheet."""
    paper, pen = np.asarray(paper, float), np.asarray(pen, float)
    return paper + ink[..., None] * (pen - paper)


def uneven_light(rgb: np.ndarray, rng: np.random.Generator, darkest: tuple[float, float] = (0.35, 0.6)) -> np.ndarray:
    """Light falling off across the page in a random direction, down to ``darkest`` of full, with a vignette."""
    height, width = rgb.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * cols / width + np.sin(angle) * rows / height
    ramp = (ramp - ramp.min()) / np.ptp(ramp)
    light = 1 - (1 - rng.uniform(*darkest)) * ramp
    vignette = 1 - 0.15 * (((rows / height - 0.5) ** 2 + (cols / width - 0.5) ** 2) / 0.5)
    return rgb * (light * vignette)[..., None]


def camera(rgb: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (50, 85)) -> Image.Image:
    """A phone camera's take: a little blur, sensor noise, then JPEG at a random quality, decoded back."""
    rgb = ndimage.gaussian_filter(rgb, sigma=(rng.uniform(0.4, 1.0),) * 2 + (0,))
    rgb = rgb + rng.normal(0, rng.uniform(2, 6), rgb.shape)
    return jpeg(Image.fromarray(np.uint8(np.clip(rgb, 0, 255).round())), int(rng.integers(*quality)))


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    decoded = Image.open(buffer)
    decoded.load()
    return decoded


def rgb_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.uint8(np.clip(rgb, 0, 255).round()))


def tinted_paper(rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.uniform(225, 250), rng.uniform(215, 245), rng.uniform(180, 235)])


def dark_pen(rng: np.random.Generator) -> np.ndarray:
    """Black, blue-black or dark blue ink."""
    return np.array([rng.uniform(10, 50), rng.uniform(10, 50), rng.uniform(30, 120)])


# --- the conditions -------------------------------------------------------------------------------------------------

def clean(digit, rng):
    """The control: the digit itself, scaled up and rendered dark on light, as a scanner would give it."""
    height = int(rng.integers(60, 200))
    return rgb_image(255 - 255 * place(digit_shape(digit, height), rng))


def photo(digit, rng):
    """A felt-pen digit on tinted paper, photographed: light falling off across the page, noise, JPEG."""
    height = int(rng.integers(80, 220))
    ink = place(stroke(pen_path(digit, height), height * rng.uniform(0.08, 0.14)), rng, margin=(0.4, 1.5))
    return camera(uneven_light(on_paper(ink, tinted_paper(rng), dark_pen(rng)), rng), rng)


def ballpoint(digit, rng):
    """A thin ballpoint stroke (1.5-3 pixels on a digit 120-260 pixels tall) on white paper."""
    height = int(rng.integers(120, 260))
    ink = place(stroke(pen_path(digit, height), rng.uniform(1.5, 3.0)), rng)
    pen = dark_pen(rng) + rng.uniform(0, 60)  # a ballpoint's line is rarely fully dark
    return camera(on_paper(ink, (rng.uniform(240, 255),) * 3, pen), rng, quality=(75, 95))


def marker(digit, rng):
    """A fat marker: strokes a fifth to a quarter of the digit's height."""
    height = int(rng.integers(80, 200))
    ink = place(stroke(pen_path(digit, height), height * rng.uniform(0.19, 0.25)), rng)
    return rgb_image(on_paper(ink, (250, 250, 250), dark_pen(rng)))


def _ruling(shape, spacing, thickness, rng, axis: int) -> np.ndarray:
    """Lines across the whole sheet every ``spacing`` pixels, with a slight slope as on a photographed page."""
    height, width = shape
    rows, cols = np.mgrid[0:height, 0:width].astype(float)
    along, across = (cols, rows) if axis == 0 else (rows, cols)
    position = across + rng.uniform(-0.015, 0.015) * along + rng.uniform(0, spacing)
    distance = np.abs((position + spacing / 2) % spacing - spacing / 2)
    return np.clip(thickness / 2 + 0.5 - distance, 0, 1)


def ruled(digit, rng):
    """Notebook paper: blue lines edge to edge, on half the pages a red margin; the digit in dark pen."""
    height = int(rng.integers(70, 180))
    ink = place(stroke(pen_path(digit, height), height * rng.uniform(0.07, 0.13)), rng, margin=(0.4, 1.2))
    lines = _ruling(ink.shape, height * rng.uniform(0.3, 0.6), rng.uniform(1, 3), rng, axis=0)
    rgb = on_paper(lines, (250, 250, 245), (rng.uniform(100, 170), rng.uniform(150, 200), 235))
    if rng.random() < 0.5:
        column = int(rng.integers(2, max(3, ink.shape[1] // 5)))
        margin = np.zeros(ink.shape)
        margin[:, column:column + int(rng.integers(1, 4))] = 1
        rgb = rgb + margin[..., None] * (np.array([225, 90, 90]) - rgb)
    rgb = rgb + ink[..., None] * (dark_pen(rng) - rgb)
    return camera(uneven_light(rgb, rng, darkest=(0.7, 0.95)), rng, quality=(70, 92))


def squared(digit, rng):
    """Squared (graph) paper: a grid of grey-blue lines in both directions under the digit."""
    height = int(rng.integers(70, 180))
    ink = place(stroke(pen_path(digit, height), height * rng.uniform(0.07, 0.13)), rng, margin=(0.4, 1.2))
    spacing, thickness = height * rng.uniform(0.15, 0.3), rng.uniform(1, 2)
    grid = np.maximum(_ruling(ink.shape, spacing, thickness, rng, 0), _ruling(ink.shape, spacing, thickness, rng, 1))
    rgb = on_paper(grid, (250, 250, 248), (rng.uniform(140, 190), rng.uniform(170, 210), 225))
    rgb = rgb + ink[..., None] * (dark_pen(rng) - rgb)
    return camera(rgb, rng, quality=(75, 92))


def specks(digit, rng):
    """The clean digit with dust specks over the page and, on most pages, a stray pen mark near a corner."""
    height = int(rng.integers(80, 200))
    ink = place(digit_shape(digit, height), rng, margin=(0.6, 1.2))
    rows, cols = np.mgrid[0:ink.shape[0], 0:ink.shape[1]]
    for _ in range(int(rng.integers(3, 9))):
        row, col, radius = rng.uniform(0, ink.shape[0]), rng.uniform(0, ink.shape[1]), rng.uniform(1, 3)
        ink = np.maximum(ink, np.clip(radius + 0.5 - np.hypot(rows - row, cols - col), 0, 1) * rng.uniform(0.5, 1))
    if rng.random() < 0.7:
        corner_row = rng.choice([rng.uniform(0.02, 0.12), rng.uniform(0.88, 0.98)]) * ink.shape[0]
        corner_col = rng.choice([rng.uniform(0.02, 0.12), rng.uniform(0.88, 0.98)]) * ink.shape[1]
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.08, 0.2) * height
        path = np.zeros(ink.shape, bool)
        for t in np.linspace(-0.5, 0.5, 200):
            row = int(np.clip(corner_row + t * length * np.sin(angle), 0, ink.shape[0] - 1))
            col = int(np.clip(corner_col + t * length * np.cos(angle), 0, ink.shape[1] - 1))
            path[row, col] = True
        ink = np.maximum(ink, stroke(path, height * 0.08))
    return rgb_image(255 - 255 * ink)


def _brush(digit, rng) -> np.ndarray:
    """A drawing app's round brush along the digit's path (coverage 0-1), on a canvas around it."""
    height = int(rng.integers(100, 300))
    return place(stroke(pen_path(digit, height), height * rng.uniform(0.07, 0.14)), rng, margin=(0.2, 0.8))


def transparent_white(digit, rng):
    """A drawing app's export: a white brush on a transparent canvas (RGBA; colour of the clear pixels varies)."""
    ink = _brush(digit, rng)
    clear = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
    rgb = np.where(ink[..., None] > 0, 255.0, np.array(clear, float))
    return Image.fromarray(np.uint8(np.dstack([rgb, 255 * ink]).round()), mode="RGBA")


def transparent_black(digit, rng):
    """The same export with a black (or coloured) brush."""
    ink = _brush(digit, rng)
    colour = (0, 0, 0) if rng.random() < 0.5 else tuple(rng.integers(0, 200, 3))
    rgb = np.broadcast_to(np.array(colour, float), (*ink.shape, 3))
    return Image.fromarray(np.uint8(np.dstack([rgb, 255 * ink]).round()), mode="RGBA")


def black_canvas(digit, rng):
    """The same drawing on an opaque black canvas."""
    return rgb_image(on_paper(_brush(digit, rng), (0, 0, 0), (255, 255, 255)))


def low_resolution(digit, rng):
    """An MNIST digit scanned at low resolution, 8 to 16 pixels tall, enlarged again blocky (nearest pixel) or
    smooth, in either polarity, half the time cropped tightly (ink touching the frame)."""
    small = digit_shape(digit, int(rng.integers(8, 17)))
    return low_res_picture(small, rng)


def low_res_picture(small: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A small glyph (ink 0-1) enlarged 64-128 px tall, blocky or smooth, cropped tightly half the time, on a
    light or a dark background."""
    big = enlarged(small, rng)
    return either_polarity(big if rng.random() < 0.5 else place(big, rng, margin=(0.1, 0.5)), rng)


def enlarged(small: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small glyph (ink 0-1) enlarged to 64-128 px tall, pixel by pixel (blocky) or smoothly, at random."""
    scale = rng.integers(64, 129) / small.shape[0]
    size = (round(small.shape[0] * scale), max(1, round(small.shape[1] * scale)))
    return np.clip(resize(small, size, order=0 if rng.random() < 0.5 else 3, anti_aliasing=False), 0, 1)


def either_polarity(ink: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Ink (0-1) light on dark or dark on light, at random."""
    return rgb_image(255 * ink if rng.random() < 0.5 else 255 - 255 * ink)


CONDITIONS: dict[str, Callable[[np.ndarray, np.random.Generator], Image.Image]] = {
    "clean": clean,
    "photo": photo,
    "ballpoint": ballpoint,
    "marker": marker,
    "ruled": ruled,
    "squared": squared,
    "specks": specks,
    "transparent-white": transparent_white,
    "transparent-black": transparent_black,
    "black-canvas": black_canvas,
    "low-resolution": low_resolution,
}
# Conditions of another source than the MNIST test set: other writers, whole numbers.
OTHER_CONDITIONS = ("other-writers", "low-res-writers", "number", "touching-number", "pressed-number")
# The conditions of whole numbers, by how close their digits are written (:func:`number`).
NUMBER_SPACINGS = {"number": "apart", "touching-number": "touching", "pressed-number": "pressed"}
# Pictures that hold no digit: no answer should be given as sure.
NO_DIGIT_CONDITIONS = ("noise", "blank-page", "photo-of-a-scene", "photo-of-a-face")




def other_writers(n: int, rng: np.random.Generator) -> list[Sample]:
    """scikit-learn's ``load_digits`` (other writers, 8x8, 16 grey levels), scaled up and rendered dark on light."""
    from sklearn.datasets import load_digits

    data = load_digits()
    chosen = rng.choice(len(data.target), n, replace=False)
    samples = []
    for index in chosen:
        side = int(rng.integers(64, 160))
        glyph = resize(data.images[index] / 16, (side, side), order=3)
        samples.append(Sample(rgb_image(255 - 255 * np.clip(place(glyph, rng), 0, 1)), str(data.target[index])))
    return samples


def low_res_writers(n: int, rng: np.random.Generator) -> list[Sample]:
    """Other writers at their own low resolution: ``load_digits``' 8x8 scans, cropped tightly to their ink (it
    touches the frame), shown 64-128 px tall, blocky or smooth, light on dark or dark on light."""
    from sklearn.datasets import load_digits

    data = load_digits()
    samples = []
    for index in rng.choice(len(data.target), n, replace=False):
        samples.append(Sample(either_polarity(enlarged(cropped_scan(data.images[index]), rng), rng),
                              str(data.target[index])))
    return samples


def cropped_scan(scan: np.ndarray) -> np.ndarray:
    """A ``load_digits`` 8x8 scan (grey levels 0-16) as ink 0-1, cropped to its ink."""
    glyph = scan / 16
    rows, cols = np.flatnonzero(glyph.max(axis=1) > 0.2), np.flatnonzero(glyph.max(axis=0) > 0.2)
    return glyph[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def scans_read_directly(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` of ``load_digits``' scans (all 1,797 where ``n`` is more) in MNIST's form with no picture in between
    (cropped to their ink, enlarged smoothly, then MNIST's 20-pixel box and centre of mass), and their labels: what
    the models make of these writers' digits when nothing is lost in reading them, the most ``low-res-writers``
    could score."""
    from sklearn.datasets import load_digits

    data = load_digits()
    chosen = rng.choice(len(data.target), min(n, len(data.target)), replace=False)
    return np.stack([scan_read_directly(cropped_scan(data.images[index])) for index in chosen]), data.target[chosen]


def scan_read_directly(glyph: np.ndarray) -> np.ndarray:
    """A scan cropped to its ink (:func:`cropped_scan`) as a (28, 28) MNIST digit, with no picture in between:
    enlarged smoothly, then MNIST's 20-pixel box and centre of mass."""
    from mnist_pipeline.app.imaging import mnist_frame

    return mnist_frame(np.clip(resize(glyph, (10 * glyph.shape[0], 10 * glyph.shape[1]), order=3), 0, 1))


def pen_digits_read_directly(x_test: np.ndarray, y_test: np.ndarray, n: int,
                             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST test digits redrawn as the pen conditions and the numbers draw them (:func:`pen_path`, a pen a
    tenth of the digit's height wide), put in MNIST's form with no picture in between, and their labels. Redrawing
    along the skeleton loses what a threshold at half strength drops (a 5's faint bar): what the models make of
    these, the most a condition drawn with a pen could give a digit."""
    from mnist_pipeline.app.imaging import mnist_frame

    chosen = rng.choice(len(y_test), n, replace=False)
    height = 100
    digits = [mnist_frame(stroke(pen_path(x_test[index], height), 0.1 * height)) for index in chosen]
    return np.stack(digits), y_test[chosen]


def no_digit(condition: str, n: int, rng: np.random.Generator) -> list[Sample]:
    """Pictures without a digit: noise (with one dark bar, half of them), a blank page photographed, a crop of a
    photographed scene (scikit-image's bundled photos: a face, a cat, a cup, a camera man), or a face filling the
    picture (scikit-image's 100 bundled faces of Labeled Faces in the Wild, 25x25 grey, enlarged to 100-400 px and
    taken through the phone camera)."""
    from skimage import data

    samples = []
    scenes = [data.astronaut(), data.chelsea(), data.coffee(), np.dstack([data.camera()] * 3)]
    faces = data.lfw_subset()[:100] if condition == "photo-of-a-face" else None  # the rest are not faces
    for _ in range(n):
        side = int(rng.integers(200, 1200))
        if condition == "noise":
            rgb = rng.uniform(0, 255, (side, side, 1)).repeat(3, axis=2)
            if rng.random() < 0.5:
                top = int(rng.integers(0, side - side // 10))
                rgb[top:top + side // 10, side // 4:3 * side // 4] = 20
            samples.append(Sample(rgb_image(rgb), ""))
        elif condition == "blank-page":
            rgb = on_paper(np.zeros((side, side)), tinted_paper(rng), dark_pen(rng))
            samples.append(Sample(camera(uneven_light(rgb, rng), rng), ""))
        elif condition == "photo-of-a-face":
            face = faces[int(rng.integers(len(faces)))]
            side = int(rng.integers(100, 400))
            rgb = resize(face, (side, side), order=3)[..., None].repeat(3, axis=2) * 255
            samples.append(Sample(camera(rgb, rng), ""))
        else:
            scene = scenes[int(rng.integers(len(scenes)))]
            crop = int(rng.integers(100, min(scene.shape[:2]) + 1))
            top, left = (int(rng.integers(0, scene.shape[i] - crop + 1)) for i in (0, 1))
            samples.append(Sample(Image.fromarray(scene[top:top + crop, left:left + crop]), ""))
    return samples


def number(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, spacing: str = "apart") -> Sample:
    """A whole number on a sticky note: the digits written left to right in one pen, photographed. ``spacing``:
    ``apart`` (paper between neighbours), ``touching`` (written so close that their boxes overlap by up to a tenth
    of the height, their ink meeting now and then) or ``pressed`` (each digit's ink run into its left neighbour's
    by a fifth to a half of the pen's width: one piece of ink)."""
    height = int(rng.integers(70, 140))
    width = height * rng.uniform(0.07, 0.12)
    glyphs = [stroke(pen_path(digit, height + int(rng.integers(-8, 9))), width) for digit in digits]
    bounds = {"apart": (0.08, 0.4), "touching": (-0.1, 0.0), "pressed": (0.0, 0.0)}[spacing]
    gaps = [round(height * rng.uniform(*bounds)) for _ in glyphs[1:]]
    row = np.zeros((max(g.shape[0] for g in glyphs) + 12, sum(g.shape[1] for g in glyphs) + sum(gaps)))
    left = 0
    for i, (glyph, gap) in enumerate(zip(glyphs, [*gaps, 0], strict=True)):
        top = int(rng.integers(0, row.shape[0] - glyph.shape[0] + 1))
        if spacing == "pressed" and i:
            left = _meeting(row, glyph, top, left, round(rng.uniform(0.2, 0.5) * width))
        row[top:top + glyph.shape[0], left:left + glyph.shape[1]] = np.maximum(
            row[top:top + glyph.shape[0], left:left + glyph.shape[1]], glyph)
        left += glyph.shape[1] + gap
    row = row[:, :left]  # a pressed number ends short of its row
    note = (rng.uniform(240, 255), rng.uniform(225, 245), rng.uniform(110, 160))  # a yellow sticky note
    rgb = on_paper(place(row, rng, margin=(0.1, 0.4)), note, dark_pen(rng))
    return Sample(camera(uneven_light(rgb, rng, darkest=(0.6, 0.9)), rng, quality=(70, 92)),
                  "".join(str(label) for label in labels))


def _meeting(row: np.ndarray, glyph: np.ndarray, top: int, start: int, press: int) -> int:
    """Where ``glyph`` begins, at ``top``, slid leftwards from column ``start`` until its ink meets the ink already
    in ``row``, then ``press`` pixels further."""
    height, width = glyph.shape
    mine, ink = glyph > 0.5, row[top:top + height] > 0.5
    for left in range(start, -1, -1):
        span = min(width, ink.shape[1] - left)
        if (ink[:, left:left + span] & mine[:, :span]).any():
            return max(0, left - press)
    return 0


def make_samples(condition: str, x_test: np.ndarray, y_test: np.ndarray, n: int, seed: int = 0) -> list[Sample]:
    """``n`` pictures of ``condition`` (a name of :data:`CONDITIONS`, :data:`OTHER_CONDITIONS` or
    :data:`NO_DIGIT_CONDITIONS`) from the test digits (a no-digit picture's label is "").

    Each condition takes its own random digits (and, for ``number``, 2 to 6 of them per picture) so the
    conditions are not the same 100 digits in other clothes.
    """
    rng = np.random.default_rng([seed, *condition.encode()])
    if condition == "other-writers":
        return other_writers(n, rng)
    if condition == "low-res-writers":
        return low_res_writers(n, rng)
    if condition in NO_DIGIT_CONDITIONS:
        return no_digit(condition, n, rng)
    if condition in NUMBER_SPACINGS:
        samples = []
        for _ in range(n):
            chosen = rng.choice(len(y_test), int(rng.integers(2, 7)), replace=False)
            samples.append(number(x_test[chosen], y_test[chosen], rng, NUMBER_SPACINGS[condition]))
        return samples
    chosen = rng.choice(len(y_test), n, replace=False)
    return [Sample(CONDITIONS[condition](x_test[index], rng), str(y_test[index]), int(index)) for index in chosen]


def load_test_digits(mirror: Path) -> tuple[np.ndarray, np.ndarray]:
    from tests.mnist_for_tests import read_mnist

    return read_mnist(mirror, "t10k-images-idx3-ubyte"), read_mnist(mirror, "t10k-labels-idx1-ubyte")


def accuracies(models, digits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Each model's share of ``digits`` (MNIST's form) read as their ``labels``."""
    from mnist_pipeline.model_io import predict_proba

    return {name: float(np.mean(predict_proba(model, digits).argmax(axis=1) == labels))
            for name, model in models.items()}


def main() -> None:
    from mnist_pipeline.app import predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-condition", type=cli.count, default=100)
    parser.add_argument("--seeds", type=cli.seed, nargs="+", default=[0],
                        help="draw each condition's pictures with each of these seeds, pooled (default: 0)")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--mirror", type=Path, help="a folder with MNIST's four .gz files (default: the tests' cache)")
    parser.add_argument("--save", type=Path, help="also write each picture into this folder")
    parser.add_argument("--out", type=Path, help="also write the table into this markdown file (docs/predicting.md "
                                                 "quotes benchmarks/handwriting.md)")
    args = parser.parse_args()
    if args.mirror is None:
        from tests.mnist_for_tests import mnist_folder

        args.mirror = mnist_folder(Path("params.yaml"))
    x_test, y_test = load_test_digits(args.mirror)
    models = predict.load_models(models_dir=args.models_dir)
    lines = ["Right: the pictures read exactly (a number: every digit). Sure: the answers given as sure (a number: "
             "every digit sure; both models judged together, as `mnist-predict` does), and how many of those are "
             "right. A no-digit picture refused as such is neither.", "",
             f"| condition | n | {' | '.join(f'{name} right | {name} sure (right)' for name in models)} |",
             f"|---|---|{'---|---|' * len(models)}"]
    print("\n".join(lines), flush=True)
    for condition in [*CONDITIONS, *OTHER_CONDITIONS, *NO_DIGIT_CONDITIONS]:
        samples = [sample for seed in args.seeds
                   for sample in make_samples(condition, x_test, y_test, args.per_condition, seed)]
        if args.save:
            folder = args.save / condition
            folder.mkdir(parents=True, exist_ok=True)
            for i, sample in enumerate(samples):
                sample.image.save(folder / f"{i:03d}-{sample.label or 'none'}.png")
        cells = []
        percent = "{:.0%}".format if len(samples) <= 100 else "{:.1%}".format  # pooled seeds: one picture in 300
        labelled = sample_labels(samples)
        for score in scores(samples, models).values():
            sure = percent(score.sure) + (f" ({percent(score.sure_right)})" if score.sure and labelled else "")
            cells += [percent(score.right) if labelled else "-", sure]
        lines.append(f"| {condition} | {len(samples)} | {' | '.join(cells)} |")
        print(lines[-1], flush=True)
    pooled = len(args.seeds) * args.per_condition
    digits, labels = scans_read_directly(5 * pooled, np.random.default_rng([*args.seeds, *b"scans"]))
    right = accuracies(models, digits, labels)
    lines += ["", f"The same writers' scans read directly, with no picture in between ({len(labels)} `load_digits` "
                  f"digits; the most the reading of `low-res-writers` could give): "
                  f"{', '.join(f'{name} {share:.0%}' for name, share in right.items())}."]
    print(*lines[-2:], sep="\n", flush=True)
    digits, labels = pen_digits_read_directly(x_test, y_test, 15 * pooled,
                                              np.random.default_rng([*args.seeds, *b"pen"]))
    right = accuracies(models, digits, labels)
    lines += ["", f"The MNIST digits redrawn with a pen as the pen conditions and the numbers draw them, read directly "
                  f"({len(labels)} digits; the most those conditions could give a digit): "
                  f"{', '.join(f'{name} {share:.1%}' for name, share in right.items())}; a number of four such "
                  f"digits, at most {', '.join(f'{name} {share ** 4:.0%}' for name, share in right.items())}."]
    print(*lines[-2:], sep="\n", flush=True)
    if args.out:
        from mnist_pipeline.artifacts import write_text

        write_text(args.out, "\n".join(lines) + "\n")


def sample_labels(samples: list[Sample]) -> bool:
    return all(sample.label for sample in samples)


@dataclasses.dataclass(frozen=True)
class Score:
    """Of a condition's pictures: the share read right, the share answered sure, and of those the share right."""

    right: float
    sure: float
    sure_right: float


def readings(sample: Sample, models) -> dict[str, list[dict]] | None:
    """Each model's judged answers (:func:`mnist_pipeline.app.verdicts.judge`) for ``sample``'s digit(s); None for
    a picture refused as holding no digit."""
    from mnist_pipeline.app.imaging import ImageError, read_digit, read_number
    from mnist_pipeline.app.predict import number_plausibility
    from mnist_pipeline.app.verdicts import judge, thresholds_of
    from mnist_pipeline.model_io import predict_proba

    try:
        if len(sample.label) > 1:
            digits, outlines, paper = read_number(sample.image, number_plausibility(models))
            apart = None
        else:
            digit, paper, marks = read_digit(sample.image)
            digits, outlines, apart = digit[None], None, [marks]
    except ImageError:
        return None
    return judge({name: predict_proba(model, digits) for name, model in models.items()}, thresholds_of(models),
                 outlines, digits, [paper] * len(digits), apart)


def scores(samples: list[Sample], models, read: list | None = None) -> dict[str, Score]:
    """Each model's :class:`Score` on ``samples``; a picture refused counts as neither right nor sure. ``read``:
    the samples' :func:`readings`, where the caller has them already."""
    from mnist_pipeline.app.verdicts import as_number

    counts = {name: [0, 0, 0] for name in models}
    if read is None:
        read = [readings(sample, models) for sample in samples]
    for sample, answers in zip(samples, read, strict=True):
        if answers is None:
            continue
        for name, digits in answers.items():
            reading = as_number(digits)
            right = reading["number"] == sample.label
            sure = reading["sure"] is True
            counts[name][0] += right
            counts[name][1] += sure
            counts[name][2] += sure and right
    n = len(samples)
    return {name: Score(right / n, sure / n, sure_right / sure if sure else 1.0)
            for name, (right, sure, sure_right) in counts.items()}


if __name__ == "__main__":
    cli.run(main)
