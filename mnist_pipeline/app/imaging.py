"""Bring a picture of handwritten digits, as people take them, to the form of MNIST's digits.

The models learnt from MNIST, whose digits were made in a known way (LeCun et al.): NIST's black-and-white
scans of each digit, scaled so the digit fits a 20x20 box (aspect ratio kept, the anti-aliasing giving grey
levels), then placed in a 28x28 frame with the centre of mass at the centre; bright ink on black. A user's
picture is a photo of paper under uneven light, a thin ballpoint or a fat marker, ruled paper, dust, a drawing
app's transparent canvas. :func:`to_mnist` (one digit) and :func:`to_mnist_digits` (a number written in a row)
first recover the black-and-white digit NIST would have scanned, then make it as MNIST was made:

1. **Ink map** (:func:`ink_map`): with transparency, the ink is where the alpha is, whatever its colour.
   Otherwise grey levels; the paper is told from the ink by which side of the paper's level (its corners) the
   extreme values lie; the paper's brightness is estimated everywhere by a morphological closing far wider than any
   stroke (a closing keeps a ramp of light intact), and each pixel's ink is its darkening relative to the
   paper there, so light falling off across the page cancels out. Light ink on a dark canvas is read as the
   dark ink of the picture's negative: a picture and its negative give the same digit.
2. **Threshold** (:func:`ink_mask`): Otsu's threshold on that flattened map, so a faint pen and a marker both
   separate from the paper: the background estimate makes the threshold adaptive. For one digit, fainter ink
   joined to the ink is kept where it closes a loop (:func:`close_loops`: a small scan's faint stretch of a 0),
   unless the paper is ruled.
3. **Rules** (:func:`remove_rules`): ruled or squared lines and margins are straight runs that cross the
   picture from edge to edge; an opening with a long line finds them, and they are taken out except where a
   stroke crosses them.
4. **Components** (:func:`digit_mask`, :func:`number_masks`): the largest connected piece of ink and the pieces
   close to it make the digit; specks and stray marks away from it are dropped. Ink scattered in many marks, or
   a mesh enclosing many holes, is noise, a texture or a scene: no digit. A number's digits are the
   pieces of ink read left to right, pieces above one another being one digit; with the models at hand
   (:func:`read_number`), digits that touch are cut apart where the models are surer of them so
   (:mod:`mnist_pipeline.app.segmentation`). How much ink the paper around the digits holds (:func:`paper_shade`)
   goes with them to the verdict: handwriting's paper is bare, a photo's shaded.
5. **Stroke width** (:func:`normalise_stroke`): at a fixed working size, a stroke thinner or thicker than
   MNIST's range (measured on its training digits) is brought to it: a thin pen thickened into full ink, a marker
   thinned. Inside strokes of MNIST's width or broader the ink keeps its own levels, so a blurred picture keeps its
   soft profile.
6. **MNIST's steps** (:func:`mnist_frame`): the digit's longer side scaled to 20 pixels, each pixel's grey level
   the ink it covers; then centred by centre of mass in 28x28.

Everything here is pure (Pillow images or arrays in, arrays out); image processing is scikit-image's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, gaussian, threshold_otsu
from skimage.measure import label, regionprops
from skimage.morphology import closing, dilation, disk, opening, skeletonize
from skimage.transform import downscale_local_mean, resize

from mnist_pipeline.app import segmentation
from mnist_pipeline.digits import IMAGE_SIDE
from mnist_pipeline.errors import PipelineError

# MNIST fits each digit's longer side to 20 pixels, leaving a margin of 4 pixels in the 28x28 frame.
DIGIT_BOX = 20
# Where MNIST's centres of mass lie, in (row, column) pixel indices: the mean over the test set is (13.99, 14.01).
CENTRE = (14.0, 14.0)
# ITU-R 601-2 luma, the weights Pillow's own conversion to grey uses.
_LUMA = np.array([0.299, 0.587, 0.114])

# The picture is worked on with its longer side in this range: larger photos are scaled down (a digit needs no
# more), smaller pictures up (so a 28x28 digit has room for morphology).
WORKING_SIDE = (160, 640)
# Ink fainter than this (a fraction of the paper's brightness, or of full scale on a dark canvas) is no digit.
MIN_INK = 0.125
# The paper's brightness varies slowly: estimated on a copy this size, with a closing this fraction of its side.
BACKGROUND_SIDE = 128
BACKGROUND_FOOTPRINT = 0.3
# A dark shape wider than that closing (a filled disc) is taken for the paper's shading inside, and only its rim is
# left as ink: a ring, a sure 0. So where the regions a piece of ink encloses, FILLED_LOOP_AREA of the picture or
# more together, are on average at least FILLED_LOOP as dark as that ink in the picture itself (against the paper's
# level, its corners'), the piece is ink wherever it is that dark: the loop of a digit encloses paper, and one
# blurred shut in a small scan enlarged holds up to 0.65 of the ink's darkness (the benchmark's low-resolution
# digits, seeds 1 and 2).
FILLED_LOOP = 0.8
FILLED_LOOP_AREA = 0.005
# The paper's level is read in the picture's four corners, squares this fraction of its sides: a digit cropped to
# its ink may run along most of the frame's sides, and leaves the corners to the paper far more often.
CORNER = 1 / 8
# A digit cropped tightly: ink along more than this fraction of one side of the frame. Its picture is then read
# inside a margin of its own paper this fraction of its longer side wide: as wide as the digit, so the paper's
# estimate (a closing a fraction of the whole wide) finds paper around a small scan's strokes, which fill most of
# its crop.
CROPPED_EDGE = 0.1
CROP_MARGIN = 0.5
# The corners of such a picture tell the paper clearly when their level lies within this fraction of the
# picture's range of grey from one extreme; nearer the middle they are part ink, and the digit's shape decides.
CLEAR_CORNERS = 0.25
# Ink fainter than Otsu's threshold, down to this fraction of it, joins the ink where it touches ink over the
# threshold (hysteresis) and so encloses more holes of LOOP_HOLE pixels or more: a faint stretch of a 0's loop in
# a small scan enlarged, which the threshold alone leaves open. Not where the ink down to RULE_INK of the threshold
# holds a rule: the faint lines of ruled or squared paper would join the digit and close squares around it.
FAINT_INK = 0.5
LOOP_HOLE = 3
RULE_INK = 0.3
# A picture whose grey level changes only every this many pixels or more, along both axes, is a small scan
# enlarged pixel by pixel.
MIN_BLOCK = 4
# A straight run at least this fraction of the picture long is a candidate rule; a rule reaches this close (a
# fraction of the picture) to both edges.
RULE_RUN = 1 / 6
RULE_EDGE = 0.03
# and is thin: no thicker on average than this fraction of the picture across it (a ruled line is a hairline).
RULE_THICKNESS = 0.03
# A piece of ink joins the digit when it lies within this fraction of the digit's size from it, and is no speck.
NEARBY = 0.2
MIN_PIECE = 0.03
# More pieces than this that are no specks make no digit but noise or a texture (a digit on ruled paper, specks
# around it, makes up to 6); a number holds at most this many digits' worth.
MAX_PIECES = 20
MAX_NUMBER_LENGTH = 12
# Nor does ink scattered around the digit that outweighs it this many times (specks and a stray mark weigh up to
# 0.9 of a digit in the benchmark's pictures), or around a number's digits (up to 0.02 there).
MAX_STRAY_INK = 1.5
MAX_STRAY_INK_NUMBER = 0.5
# A digit's ink encloses two holes (an 8), and a few pinholes where a fat marker's strokes cross: up to 7 in the
# benchmark's pictures of digits. Ink enclosing more is a mesh: noise, a texture, a scene.
MAX_HOLES = 15
# A piece of ink that the digit leaves out, at least this share of its height, is a mark as tall as a digit: a number
# given as one digit (`mnist-predict` without --number) keeps its largest digit and its answer is not sure. Cropped
# tightly, the other digit touches the frame and still counts.
APART_HEIGHT = 0.5
# The paper around a digit is measured this far from any ink, as a fraction of the digit's longer side: beyond the
# soft edge of a blurred or anti-aliased stroke (:func:`paper_shade`).
PAPER_MARGIN = 0.06
# Strokes are measured and normalised with the digit's longer side this many pixels; MNIST's frame is 4x smaller.
STROKE_SIDE = 4 * DIGIT_BOX
# Stroke width (ink area over skeleton length) as a fraction of the digit's longer side, in 3,000 of MNIST's
# training digits: median 0.116, 90th percentile 0.159. Thinner strokes are thickened to the median (the clean
# condition reads best so: logreg 97%, nn 99%, against 95.5% and 98.5% when thickened to the 10th percentile,
# 0.087); thicker ones are thinned towards the 90th percentile.
STROKE_WIDTH_RANGE = (0.116, 0.159)
# A stroke narrower than this many pixels once the digit is shrunk to STROKE_SIDE would vanish in the shrinking (a
# drawing app's 1-2 px pencil on a digit hundreds of pixels tall): it is first widened to it, at the picture's own
# size, and then thickened as any thin stroke is. Two pixels stay ink through the smoothing that shrinking does.
MIN_SHRUNK_STROKE = 2.0
# Ink broader than this is a filled shape, no stroke: the broadest of 6,000 of MNIST's training digits is 0.27 and
# of the benchmark's digit pictures (seeds 1 and 2) 0.55, a marker's, where a filled disc is 31 and a filled
# ellipse twice as high as wide 3.6. Thinned towards a stroke, such a shape would become its skeleton, a 1 or a dot.
MAX_STROKE_WIDTH = 1.0
# Inside a stroke, the ink keeps its level relative to the digit's strongest (90th percentile), but no less than
# this: the soft profile of a blurred picture helps (other writers: nn 94% -> 98%, logreg 75% -> 81%; clean
# logreg 97% -> 95%), and a faint part of a stroke stays visible.
MIN_STROKE_LEVEL = 0.5


class ImageError(PipelineError):
    """An image that cannot become an MNIST digit: unreadable, of an unknown layout, or holding no digit."""


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """A picture of one digit, of any size and colours, as a (28, 28) uint8 MNIST digit.

    Arrays are (h, w) grey, (h, w, 2) grey and alpha, (h, w, 3) RGB or (h, w, 4) RGBA; uint8 is 0-255,
    uint16 0-65535, floats 0-1 (or 0-255 when any value is above 1).

    Raises:
        ImageError: an array of another shape, or a picture with no digit in it (blank or uniform).
    """
    return read_digit(image)[0]


def read_digit(image: Image.Image | np.ndarray) -> tuple[np.ndarray, float, int]:
    """:func:`to_mnist`, how shaded the paper around the digit is (:func:`paper_shade`), and how many marks as tall as
    a digit stand apart from it, left out (:func:`marks_set_apart`)."""
    ink = ink_map(image)
    threshold = ink_threshold(ink)
    mask = ink > threshold
    kept = remove_rules(mask)
    digit = digit_mask(kept)
    paper = paper_shade(ink, mask, digit)
    apart = marks_set_apart(kept, digit)
    closed = close_loops(ink, threshold)
    if closed is not None:
        digit = digit_mask(remove_rules(closed))
    return mnist_frame(normalise_stroke(digit, ink)), paper, apart


def to_mnist_digits(image: Image.Image | np.ndarray) -> np.ndarray:
    """A picture of a number written in a row, as (n, 28, 28) uint8 MNIST digits, left to right: each piece of ink
    (:func:`number_masks`) a digit. :func:`read_number` also parts digits that touch, with the models' help."""
    ink = ink_map(image)
    return np.stack([mnist_frame(normalise_stroke(mask, ink)) for mask in number_masks(remove_rules(ink_mask(ink)))])


def read_number(image: Image.Image | np.ndarray, plausibility: Callable[[np.ndarray, np.ndarray], np.ndarray]
                ) -> tuple[np.ndarray, list[segmentation.Outline], float]:
    """A picture of a number written in a row, as (n, 28, 28) uint8 MNIST digits, left to right, how each was
    outlined (:class:`~mnist_pipeline.app.segmentation.Outline`), and how shaded the paper around the number is
    (:func:`paper_shade`). Digits that touch are cut apart, and a digit in two pieces joined, where the models say
    so (:mod:`mnist_pipeline.app.segmentation`).

    ``plausibility`` gives, for k candidate digits as (k, 28, 28) uint8 and their (k,) widths over heights, how
    plausible each is as one digit, in log probability (:func:`~mnist_pipeline.app.segmentation.plausibility`).
    """
    ink = ink_map(image)
    inked = ink_mask(ink)
    pieces = number_masks(remove_rules(inked))
    paper = paper_shade(ink, inked, np.logical_or.reduce(pieces))
    atoms, origin = segmentation.atoms(pieces, segmentation.row_height(pieces))
    runs = segmentation.candidate_runs(origin)
    as_written = [segmentation.is_piece(origin, run) for run in runs]
    frames: list[np.ndarray | None] = []
    aspects = []
    for (start, end), whole in zip(runs, as_written, strict=True):
        mask = np.logical_or.reduce(atoms[start:end])
        rows, cols = _box_of(mask)
        aspects.append((cols.stop - cols.start) / (rows.stop - rows.start))
        try:
            frames.append(mnist_frame(normalise_stroke(mask, ink)))
        except ImageError:  # a sliver of a stroke that scales to nothing: no digit by itself
            if whole:
                raise  # the piece as written: the picture is no number, as :func:`to_mnist_digits` finds
            frames.append(None)
    readable = [i for i, frame in enumerate(frames) if frame is not None]
    judged = plausibility(np.stack([frames[i] for i in readable]), np.array([aspects[i] for i in readable]))
    scores: list[float | None] = [None] * len(runs)
    for i, score in zip(readable, judged, strict=True):
        scores[i] = float(score) - (0.0 if as_written[i] else segmentation.CHANGE_COST)
    chosen = segmentation.best_reading(len(atoms), runs, scores)
    outlines = [segmentation.Outline(aspects[i], as_written[i]) for i in chosen]
    return np.stack([frames[i] for i in chosen]), outlines, paper


# --- 1. ink map -----------------------------------------------------------------------------------------------------

def ink_map(image: Image.Image | np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, 0 (paper) to 1, at the working size; the strongest stroke near 1.

    Raises:
        ImageError: the picture holds no ink at all (blank, uniform, or only faint paper grain).
    """
    pixels = picture_pixels(image) if isinstance(image, Image.Image) else _scaled(np.asarray(image))
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (2, 3, 4)):
        raise ImageError(f"an image array of shape {pixels.shape} is neither (h, w) grey nor (h, w, 2-4) channels")
    if pixels.size == 0 or min(pixels.shape[:2]) == 0:
        raise ImageError(f"the image is empty ({pixels.shape[1]}x{pixels.shape[0]} pixels): it holds no digit")
    pixels = np.clip(pixels, 0, 255)
    grey = _grey(pixels)
    transparent = pixels.ndim == 3 and pixels.shape[2] in (2, 4) and pixels[:, :, -1].min() < 255
    block = _block_size(grey)
    # An opaque picture is read by its grey levels alone, so only they are brought to the working size: one channel
    # resized and smoothed, not three or four. Both steps are linear: the grey resized is the resized colours' grey.
    working = _working_size(pixels if transparent else grey)
    if block:
        # A low-resolution scan enlarged pixel by pixel: its blocks smoothed away, as a smooth enlargement would
        # have drawn it, so its staircase edges are no strokes of their own.
        block *= working.shape[0] / pixels.shape[0]
        working = gaussian(working, sigma=(block / 2, block / 2, 0)[:working.ndim], preserve_range=True)
    if transparent:
        ink = working[:, :, -1] / 255  # drawn on a transparent canvas: the alpha is the ink, whatever its colour
    else:
        levels = _corner_levels(working)
        dark = _dark_ink(levels)
        ink = _flattened_ink(working, dark)
        mask = ink_mask(ink)
        if _touches_frame(mask):
            uncropped = _uncropped_ink(working, dark, levels)
            # Kept unless it holds no ink (a 1 cropped to its stroke is mostly ink), or is a mesh where the first
            # reading is none: on a photo whose light falls off towards an edge, the margin's even paper makes the
            # darker paper there ink.
            meshed = _digit_pieces(ink_mask(uncropped)) is None and _digit_pieces(mask) is not None
            if uncropped.max() >= MIN_INK and not meshed:
                ink = uncropped
        ink = _filled_loops(ink, working, dark, levels)
    strongest = np.percentile(ink, 99.9) if ink.size > 1000 else ink.max()
    if ink.max() < MIN_INK:
        raise ImageError("the image holds no digit: it is blank or of one uniform colour")
    if strongest < MIN_INK / 2:  # some ink, but on under a thousandth of the picture: stray pixels, or a tiny digit
        raise ImageError("the image holds no digit that can be read: its ink covers under a thousandth of the "
                         "picture (a small digit in a large photo? crop the picture to it)")
    return np.clip(ink / max(strongest, MIN_INK), 0, 1)


def _filled_loops(ink: np.ndarray, grey: np.ndarray, dark: bool, levels: _Levels) -> np.ndarray:
    """``ink`` with each piece of it that encloses regions :data:`FILLED_LOOP` as dark as its ink in the picture
    ``grey`` itself, :data:`FILLED_LOOP_AREA` of it or more together, made ink wherever it is that dark, as strong
    as its ink's strong part (90th percentile). Together: a shape hollowed by the paper's estimate can leave islands
    of ink in its hollow, and the small holes between them would stay, a mesh. Its weaker ink too: Otsu's
    threshold, found again on the filled map, would leave that ink holes."""
    mask = ink_mask(ink)
    hull = ndimage.binary_fill_holes(mask)
    holes = hull & ~mask
    least = FILLED_LOOP_AREA * grey.size
    if holes.sum() < least:
        return ink
    pieces, count = ndimage.label(hull)
    darkness = levels.corners - grey if dark else grey - levels.corners
    filled = np.zeros_like(mask)
    for piece in np.flatnonzero(np.bincount(pieces[holes], minlength=count + 1) >= least):
        inside = pieces == piece
        enclosing = float(np.median(darkness[inside & mask]))
        if enclosing > 0 and darkness[inside & holes].mean() >= FILLED_LOOP * enclosing:
            filled |= inside & (darkness >= FILLED_LOOP * enclosing)
    return np.where(filled, np.maximum(ink, np.quantile(ink[mask], 0.9)), ink) if filled.any() else ink


def _grey(pixels: np.ndarray) -> np.ndarray:
    """Grey levels of an opaque picture: (h, w), grey and alpha, RGB or RGBA."""
    if pixels.ndim == 2:
        return pixels
    return pixels[:, :, :3] @ _LUMA if pixels.shape[2] >= 3 else pixels[:, :, 0]


def _flattened_ink(grey: np.ndarray, dark: bool, margin: float = 0.0, paper: float = 0.0) -> np.ndarray:
    """Ink from grey levels: darkening relative to the paper's level, as a share of that level; the level estimated
    as :func:`_background` does, with its ``margin`` of ``paper``.

    Light ink on a dark canvas (``dark`` false) is read as the dark ink of the picture's negative, so a picture and
    its negative give the same ink. Where a broad stroke lines the frame of a tight crop, the estimated level takes
    in some of the stroke, and only the share keeps that stroke strong.
    """
    if not dark:
        grey, paper = 255 - grey, 255 - paper
    level = np.maximum(_background(grey, margin, paper), 1.0)
    return np.clip((level - grey) / np.maximum(level, 32), 0, 1)


def _block_size(grey: np.ndarray) -> float | None:
    """The side of the blocks of a picture enlarged pixel by pixel (nearest neighbour) from a small one, in
    pixels; None for any other picture.

    In such a picture the grey level changes only at the borders of square blocks: along each axis, the positions
    where any row (or column) changes lie at least :data:`MIN_BLOCK` apart, and the closest two are as far apart
    along one axis as along the other (a drawing of straight bars has no such grid).
    """
    sides = []
    for axis in (0, 1):
        changes = np.flatnonzero(np.any(np.diff(grey, axis=axis) != 0, axis=1 - axis))
        if len(changes) < 2:
            return None
        sides.append(int(np.diff(changes).min()))
    if min(sides) < MIN_BLOCK or max(sides) > 1.25 * min(sides) + 1:
        return None
    return float(min(sides))


class _Levels(NamedTuple):
    """A picture's darkest level, its corners' median level, and its lightest level (the extremes robust to a
    few stray pixels): measured once a picture, read by each step that tells its ink from its paper."""

    low: float
    corners: float
    high: float


def _corner_levels(grey: np.ndarray) -> _Levels:
    """The :class:`_Levels` of a grey picture."""
    low, high = np.percentile(grey, [0.1, 99.9])
    rows, cols = max(1, round(CORNER * grey.shape[0])), max(1, round(CORNER * grey.shape[1]))
    corners = [grey[:rows, :cols], grey[:rows, -cols:], grey[-rows:, :cols], grey[-rows:, -cols:]]
    return _Levels(float(low), float(np.median(np.concatenate([corner.ravel() for corner in corners]))), float(high))


def _dark_ink(levels: _Levels) -> bool:
    """Whether the ink is darker than the paper: the extremes of grey lie on the dark side of the paper's level,
    the median of the picture's corners (paper, even where a digit cropped to its ink lines the frame's sides)."""
    low, paper, high = levels
    return high - paper <= paper - low


def _touches_frame(mask: np.ndarray) -> bool:
    """Whether the ink ``mask`` reaches the picture's frame along more than :data:`CROPPED_EDGE` of one of its
    sides: a digit cropped tightly (a scan cut to its ink), not a rule, which crosses a side at one point."""
    return max(mask[0].mean(), mask[-1].mean(), mask[:, 0].mean(), mask[:, -1].mean()) > CROPPED_EDGE


def _digit_pieces(mask: np.ndarray) -> int | None:
    """How many pieces of ink ``mask`` holds that are no specks (:data:`MIN_PIECE` of the largest); None where it
    holds none, or a mesh enclosing more than :data:`MAX_HOLES` holes (noise read in the other polarity is one
    piece, but no digit)."""
    _, areas = _labelled(mask)
    if not areas.size or count_holes(mask) > MAX_HOLES:
        return None
    return int(np.count_nonzero(_marks(areas)))


def _uncropped_ink(grey: np.ndarray, dark: bool, levels: _Levels) -> np.ndarray:
    """:func:`_flattened_ink` of a picture cropped tightly to its digit, as if the page went on beyond the frame:
    the picture is set in a margin of its own paper level (:func:`_paper_level`), so the paper's estimate near a
    stroke that touches the frame is paper, not the stroke.

    ``dark`` is the corners' answer (:func:`_dark_ink` of the picture's ``levels``), and they may be ink themselves:
    a small scan cut to its ink has strokes in two or three of its four corners, and their median level is then
    neither the paper's nor the ink's. Where it is that ambiguous (not within :data:`CLEAR_CORNERS` of the range
    from either extreme), the ink is told from the paper by its shape: a digit is one or two strokes, while the
    paper around a digit cropped to its ink is cut by them into several pieces (the hole of a 0, the bays either
    side of a 3, the corners). The reading whose ink, rules aside, makes fewer pieces is taken where neither reading
    is a mesh (:func:`_digit_pieces`); on a tie, or where one is a mesh, the corners' answer. Clear corners are
    trusted: a digit whose faint stroke breaks in two would otherwise lose to its paper in one piece."""
    corners = _flattened_ink(grey, dark, CROP_MARGIN, _paper_level(grey, dark, levels))
    if not _ambiguous_corners(levels):
        return corners
    shape = _flattened_ink(grey, not dark, CROP_MARGIN, _paper_level(grey, not dark, levels))
    pieces = [_digit_pieces(remove_rules(ink_mask(ink))) for ink in (corners, shape)]
    return shape if None not in pieces and pieces[1] < pieces[0] else corners


def _ambiguous_corners(levels: _Levels) -> bool:
    """Whether the corners' level lies midway between the picture's extremes, not within :data:`CLEAR_CORNERS` of
    its range of grey from either."""
    low, paper, high = levels
    return min(paper - low, high - paper) >= CLEAR_CORNERS * (high - low)


def _paper_level(grey: np.ndarray, dark: bool, levels: _Levels) -> float:
    """The paper's grey level in a picture cropped tightly to its digit: the median of the pixels that hold less
    than :data:`MIN_INK` of ink, measured as :func:`_flattened_ink` measures it, against the picture's extreme on
    the paper's side (its lightest level under dark ink, its darkest under light ink).

    Not the median of what the first reading took for paper: in a tight crop the paper's estimate follows the
    strokes along the frame, and a small scan's faint strokes and soft edges cover much of the picture, so that
    median is grey and reads those strokes as paper."""
    low, _, high = levels
    paper = grey[grey >= high * (1 - MIN_INK)] if dark else grey[grey <= low + MIN_INK * 255]
    return float(np.median(paper))


def _background(grey: np.ndarray, margin: float = 0.0, paper: float = 0.0) -> np.ndarray:
    """The paper's level everywhere under dark ink: a closing with a square far wider than any stroke removes the
    strokes and keeps slow changes of light, on a small copy; smoothed and brought back to full size.

    The copy is first extended by point reflection at its edges, which continues a ramp of light as a ramp: with
    a mirror or the edge value, the level near a dark edge would be the brighter level a footprint inwards. With a
    ``margin`` (a fraction of the picture's longer side), the copy is first set in a border of level ``paper``
    that wide, as if the page went on beyond the frame; the square is then a fraction of the whole.
    """
    longest = max(grey.shape)
    border = margin * longest
    scale = BACKGROUND_SIDE / (longest + 2 * border)
    small = resize(grey, _fit(grey.shape, scale * longest), order=1, anti_aliasing=True, preserve_range=True)
    pad = round(border * scale)
    small = np.pad(small, pad, constant_values=paper)
    side = max(5, round(BACKGROUND_FOOTPRINT * min(small.shape))) | 1
    extended = np.pad(small, side, mode="reflect", reflect_type="odd")
    level = closing(extended, np.ones((side, side), dtype=bool))
    crop = side + pad
    level = gaussian(level, sigma=side / 4, preserve_range=True)[crop:-crop, crop:-crop]
    return resize(level, grey.shape, order=1, preserve_range=True)


def _fit(shape: tuple[int, ...], longest: float) -> tuple[int, int]:
    scale = longest / max(shape[:2])
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def _working_size(pixels: np.ndarray) -> np.ndarray:
    longest = max(pixels.shape[:2])
    if WORKING_SIDE[0] <= longest <= WORKING_SIDE[1]:
        return pixels
    shape = _fit(pixels.shape, min(max(longest, WORKING_SIDE[0]), WORKING_SIDE[1]))
    return resize(pixels, shape + pixels.shape[2:], order=1, anti_aliasing=longest > WORKING_SIDE[1],
                  preserve_range=True)


def picture_pixels(image: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as a float array in 0-255: grey, grey + alpha, RGB or RGBA (a photo over twice
    the working size shrunk first); what the reading starts from."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return _scaled(np.asarray(image))  # 16-bit and 32-bit grey: Pillow's "L" would clip, not scale
    has_alpha = bool({"A", "a"} & set(image.getbands())) or "transparency" in image.info
    if image.mode not in ("L", "LA", "RGB", "RGBA") or "transparency" in image.info:
        # Palette (with or without a transparent colour), 1-bit, CMYK, YCbCr, premultiplied alpha...: Pillow resolves.
        image = image.convert("RGBA" if has_alpha else "RGB")
    # A phone's photo (12 megapixels and more) needs no more than twice the working size: shrunk first, in 8 bits,
    # it takes a fraction of the time and memory its float copy at full size would (5 s and 1 GB for 12 MP).
    factor = max(image.size) // (2 * WORKING_SIDE[1])
    if factor > 1:
        image = image.reduce(factor)
    return np.asarray(image, dtype=np.float64)


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


# --- 2. threshold ---------------------------------------------------------------------------------------------------

def ink_mask(ink: np.ndarray) -> np.ndarray:
    """Ink from paper: Otsu's threshold on the flattened ink map, never below the faintest ink that counts."""
    return ink > ink_threshold(ink)


def ink_threshold(ink: np.ndarray) -> float:
    """Otsu's threshold on the ink map, never below :data:`MIN_INK`: :func:`ink_mask`'s."""
    return max(threshold_otsu(ink) if np.ptp(ink) > 0 else MIN_INK, MIN_INK)


def close_loops(ink: np.ndarray, threshold: float) -> np.ndarray | None:
    """The ink over ``threshold`` (:func:`ink_threshold`) with the fainter ink joined to it, where that encloses
    more holes and the paper has no rules (see :data:`FAINT_INK`); None where it closes no loop."""
    joined = apply_hysteresis_threshold(ink, max(FAINT_INK * threshold, MIN_INK), threshold)
    closed = count_holes(joined, LOOP_HOLE)
    if not closed or closed <= count_holes(ink > threshold, LOOP_HOLE):
        return None
    faint = ink > max(RULE_INK * threshold, MIN_INK)
    return None if _holds_rules(faint, _rules(faint)) else joined


# --- 3. rules -------------------------------------------------------------------------------------------------------

def remove_rules(mask: np.ndarray) -> np.ndarray:
    """``mask`` without ruled or squared lines and margins: straight runs across the picture from edge to edge.

    Where a stroke crosses a rule, the rule's pixels between the stroke's two sides are kept.
    """
    rules = _rules(mask)
    if not _holds_rules(mask, rules):
        return mask
    kept = mask & ~rules
    # Bridge each stroke across the rules it crosses: a closing along the rule's normal, as long as a rule is thick.
    thickness = 2 * _rule_thickness(rules) + 3
    across = closing(kept, np.ones((thickness, 1), dtype=bool)) | closing(
        kept, np.ones((1, thickness), dtype=bool))
    return kept | (rules & across)


def _rules(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` that make ruled or squared lines and margins: straight runs from edge to edge."""
    height, width = mask.shape
    rules = np.zeros_like(mask)
    for axis, span, across in ((1, width, height), (0, height, width)):
        # Odd: skimage pads an even footprint with a zero to centre it, and scipy then filters it as a 2-D shape,
        # not as one pass of a line (20 times slower on a photo of a digit).
        run = max(9, round(span * RULE_RUN) | 1)
        line = np.ones((1, run) if axis == 1 else (run, 1), dtype=bool)
        candidates = label(opening(mask, line), connectivity=2)
        for piece in regionprops(candidates):
            start, end = piece.bbox[axis], piece.bbox[2 + axis]
            edge_to_edge = start <= RULE_EDGE * span and end >= (1 - RULE_EDGE) * span
            if edge_to_edge and piece.area / (end - start) <= max(3, RULE_THICKNESS * across):
                rules[candidates == piece.label] = True
    return rules


def _holds_rules(mask: np.ndarray, rules: np.ndarray) -> bool:
    """Whether ``mask`` holds the ``rules`` found in it (:func:`_rules`) beside other ink: not where it holds
    none, nor where it is nothing but "rules" (a digit drawn edge to edge, a tall 1)."""
    return bool(rules.any() and (mask & ~rules).any())


def _rule_thickness(rules: np.ndarray) -> int:
    """The thickest rule's width in pixels: its area over its length."""
    return max(int(np.ceil(piece.area / max(piece.bbox[2] - piece.bbox[0], piece.bbox[3] - piece.bbox[1])))
               for piece in regionprops(label(rules, connectivity=2)))


# --- 4. components --------------------------------------------------------------------------------------------------

def _labelled(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of ink in ``mask`` (8-connected) labelled 1, 2, …, and each one's area (label ``i`` at ``i - 1``)."""
    labels = label(mask, connectivity=2)
    return labels, np.bincount(labels.ravel())[1:]


def _marks(areas: np.ndarray) -> np.ndarray:
    """Which pieces of these ``areas`` are no specks: :data:`MIN_PIECE` of the largest or more."""
    return areas >= MIN_PIECE * areas.max()


def _pieces(mask: np.ndarray) -> list:
    """The pieces of ink in ``mask`` that are no specks (:func:`_marks`), largest first."""
    labels, areas = _labelled(mask)
    if not areas.size:
        raise ImageError("the image holds no digit: nothing stands out from the paper")
    # Only these become scikit-image regions: a picture of noise holds thousands of specks.
    marks = np.flatnonzero(_marks(areas)) + 1
    return sorted(regionprops(np.where(np.isin(labels, marks), labels, 0)), key=lambda piece: -piece.area)


def _gap(box, other) -> float:
    """The distance between two (top, left, bottom, right) boxes; 0 when they overlap."""
    rows = max(0, box[0] - other[2], other[0] - box[2])
    cols = max(0, box[1] - other[3], other[1] - box[3])
    return float(np.hypot(rows, cols))


def digit_mask(mask: np.ndarray) -> np.ndarray:
    """The one digit in ``mask``: its largest piece of ink and every piece near it that is no speck.

    Raises:
        ImageError: the ink is scattered over the picture, as in noise or a texture, not a digit's strokes.
    """
    pieces = _pieces(mask)
    _refuse_scattered_ink(pieces, MAX_PIECES)
    chosen, box, left = [pieces[0]], pieces[0].bbox, pieces[1:]
    grown = True
    while grown:
        grown, far = False, []
        for piece in left:
            if _gap(piece.bbox, box) <= NEARBY * max(box[2] - box[0], box[3] - box[1]):
                chosen.append(piece)
                box = _grow(box, piece.bbox)
                grown = True
            else:
                far.append(piece)
        left = far
    digit = _paint(chosen, mask.shape)
    _refuse_stray_ink(mask, digit, MAX_STRAY_INK)
    _refuse_mesh(digit)
    return digit


def marks_set_apart(mask: np.ndarray, digit: np.ndarray) -> int:
    """How many pieces of ink in ``mask`` that the digit ``digit`` (:func:`digit_mask`) left out are at least
    :data:`APART_HEIGHT` of its height: another digit beside it (a number read as one digit), not a speck, a stray
    mark, or what is left of a rule where the digit crosses it (:func:`_rule_remnant`)."""
    rows = np.flatnonzero(digit.any(axis=1))
    tall = APART_HEIGHT * (rows[-1] - rows[0] + 1)
    return sum(1 for piece in _pieces(mask) if piece.bbox[2] - piece.bbox[0] >= tall
               and not _rule_remnant(piece, mask.shape) and not digit[tuple(piece.coords.T)].any())


def _rule_remnant(piece, shape: tuple[int, int]) -> bool:
    """Whether ``piece`` is what is left of a margin's rule that a digit crossed (so :func:`remove_rules`, which takes
    straight runs from edge to edge, kept it): a run down from the picture's top or up from its bottom, as thin as a
    rule is (:data:`RULE_THICKNESS`, measured as :func:`_rules` does). What is left of a horizontal rule is never as
    tall as a digit."""
    top, _, bottom, _ = piece.bbox
    height, width = shape
    return (top == 0 or bottom == height) and piece.area / (bottom - top) <= max(3, RULE_THICKNESS * width)


def _grow(box, other) -> tuple[int, int, int, int]:
    """The box around two (top, left, bottom, right) boxes."""
    return min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3])


def _refuse_scattered_ink(pieces: list, most: int) -> None:
    """Raise :class:`ImageError` when the ink makes more than ``most`` pieces that are no specks (:func:`_pieces`)
    (for a number, a bound that also keeps the grouping of its pieces from running long on noise)."""
    if len(pieces) > most:
        raise ImageError(f"the image holds no digit: its ink is scattered in {len(pieces)} marks of similar size "
                         f"(noise or a texture), where a digit has a few strokes")


def _refuse_stray_ink(mask: np.ndarray, kept: np.ndarray, most: float) -> None:
    """Raise :class:`ImageError` when the ink left out of the digit(s) ``kept`` outweighs them ``most`` times: noise
    or a texture around one clump of it, not a digit with specks or a stray mark."""
    stray = np.count_nonzero(mask & ~kept) / max(1, np.count_nonzero(kept))
    if stray > most:
        raise ImageError(f"the image holds no digit: {stray:.1f} times as much ink lies scattered around its "
                         f"largest mark as in it (noise or a texture), where a digit stands out from its paper")


def count_holes(mask: np.ndarray, smallest: int = 1) -> int:
    """How many holes of ``smallest`` pixels or more the ink of ``mask`` encloses: the pieces of its background
    (4-connected, as 8-connected ink encloses them) that do not reach the frame."""
    background, n = ndimage.label(~mask)
    areas = np.bincount(background.ravel(), minlength=n + 1)
    areas[0] = 0  # the ink
    areas[np.unique(np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]]))] = 0
    return int(np.count_nonzero(areas >= smallest))


def _refuse_mesh(digit: np.ndarray) -> None:
    """Raise :class:`ImageError` when the ink of a digit encloses more than :data:`MAX_HOLES` holes."""
    holes = count_holes(digit)
    if holes > MAX_HOLES:
        raise ImageError(f"the image holds no digit: its ink encloses {holes} holes (noise, a texture or a scene), "
                         f"where a digit has at most two")


def number_masks(mask: np.ndarray) -> list[np.ndarray]:
    """The digits of a number written in a row, left to right.

    The row is where the large pieces of ink lie; specks and marks off it are dropped. Pieces above one another
    (a 4 written in two strokes) are one digit, and a piece too short to be a digit by itself (a 5's bar, a
    stroke broken where the pen lifted) joins the digit nearest to it, or is dropped when none is near.
    """
    pieces = _pieces(mask)
    _refuse_scattered_ink(pieces, MAX_NUMBER_LENGTH * MAX_PIECES)
    big = [piece for piece in pieces if piece.area >= 0.25 * pieces[0].area]
    row_top = float(np.median([piece.bbox[0] for piece in big]))
    row_bottom = float(np.median([piece.bbox[2] for piece in big]))
    row_height = row_bottom - row_top
    groups: list[list] = []
    for piece in sorted(pieces, key=lambda piece: piece.bbox[1]):
        if not (piece.bbox[2] > row_top and piece.bbox[0] < row_bottom):
            continue
        if groups and _overlap(_box(groups[-1]), piece.bbox) >= 0.5:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    while short := [i for i, group in enumerate(groups) if _height(_box(group)) < 0.5 * row_height]:
        i = short[0]
        fragment = groups.pop(i)
        gaps = {j: _gap(_box(fragment), _box(groups[j])) for j in (i - 1, i) if 0 <= j < len(groups)}
        nearest = min(gaps, key=gaps.get, default=None)
        if nearest is not None and gaps[nearest] <= NEARBY * row_height:
            groups[nearest].extend(fragment)
    if not groups:
        raise ImageError("the image holds no digit: no piece of ink is as tall as a digit")
    digits = [_paint(group, mask.shape) for group in groups]
    _refuse_stray_ink(mask, np.logical_or.reduce(digits), MAX_STRAY_INK_NUMBER)
    for digit in digits:
        _refuse_mesh(digit)
    return digits


def paper_shade(ink: np.ndarray, mask: np.ndarray, kept: np.ndarray) -> float:
    """How much ink the paper around the digit(s) ``kept`` holds, relative to the digits' own: the mean of the ink
    map ``ink`` over the pixels of their box farther than :data:`PAPER_MARGIN` of its longer side from any ink of
    ``mask`` (the whole picture's, rules and specks included), over the mean ink of ``kept``.

    Handwriting stands on bare paper, whatever the pen, the light or the blur: under 0.1 in 99% of the benchmark's
    digit pictures. Where the "ink" is the dark side of a photographed face or scene, its paper is the rest of the
    photo, shaded: 0.22 in the median face that the models read as a sure digit. 0 where no pixel of the box is
    that far from ink.
    """
    box = _box_of(kept)
    away = ndimage.distance_transform_edt(~mask[box]) > PAPER_MARGIN * max(kept[box].shape)
    if not away.any():
        return 0.0
    return float(ink[box][away].mean() / ink[kept].mean())


def _box(group: list) -> tuple[int, int, int, int]:
    return (min(p.bbox[0] for p in group), min(p.bbox[1] for p in group),
            max(p.bbox[2] for p in group), max(p.bbox[3] for p in group))


def _height(box) -> int:
    return box[2] - box[0]


def _paint(group: list, shape: tuple[int, int]) -> np.ndarray:
    """The pieces of ``group`` as one boolean mask of ``shape``."""
    digit = np.zeros(shape, dtype=bool)
    for piece in group:
        top, left, _, _ = piece.bbox
        digit[top:top + piece.image.shape[0], left:left + piece.image.shape[1]] |= piece.image
    return digit


def _overlap(box, other) -> float:
    """How much of the narrower of two boxes lies in the other's columns (0-1)."""
    shared = min(box[3], other[3]) - max(box[1], other[1])
    return max(0, shared) / max(1, min(box[3] - box[1], other[3] - other[1]))


# --- 5. stroke width ------------------------------------------------------------------------------------------------

def normalise_stroke(digit: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The digit cropped to its box at :data:`STROKE_SIDE` pixels on its longer side, with MNIST's range of stroke
    widths: ink coverage in 0-1.

    ``digit`` is the digit's boolean mask and ``ink`` the picture's ink map. A stroke thinner than MNIST's is
    thickened into full ink, all of it. In strokes of MNIST's width or broader the ink keeps its own levels (a
    blurred or anti-aliased picture keeps its soft profile, as MNIST's strokes have one), never below
    :data:`MIN_STROKE_LEVEL`.
    """
    box = _box_of(digit)
    crop = digit[box]
    size = _fit(crop.shape, STROKE_SIDE)
    scale = size[0] / crop.shape[0]
    if scale < 1 and (source_width := crop.sum() / max(1, skeletonize(crop).sum())) * scale < MIN_SHRUNK_STROKE:
        radius = math.ceil((MIN_SHRUNK_STROKE / scale - source_width) / 2)
        crop = _within(np.pad(crop, radius), radius)
        size = _fit(crop.shape, STROKE_SIDE)
    shape = resize(crop.astype(float), size, order=1) > 0.5
    if not shape.any():
        raise ImageError("the image holds no digit: nothing is left after scaling it")
    skeleton = skeletonize(shape)
    width = shape.sum() / max(1, skeleton.sum()) / STROKE_SIDE
    if width > MAX_STROKE_WIDTH:
        raise ImageError("the image holds no digit: its ink is a filled shape (a blot, a disc), not a pen's strokes")
    low, high = STROKE_WIDTH_RANGE
    if width < low:
        radius = round((low - width) * STROKE_SIDE / 2)
        return _within(np.pad(shape, radius), radius).astype(float) if radius else shape.astype(float)
    level = resize(np.where(digit[box], ink[box], 0), size, order=1)
    level = np.clip(level / max(np.quantile(level[shape], 0.9), MIN_INK), MIN_STROKE_LEVEL, 1)
    if width > high:
        # A third of the excess: eroding all of it turns a marker's filled loops into bars (nn 97.5% on the marker
        # condition, 98% with a third, 99% with none) while blurred strokes need it (other writers: 96.5, 97, 93).
        radius = round((width - high) * STROKE_SIDE / 2 / 3)
        shape = (~_within(~shape, radius) | dilation(skeleton, disk(1))) & shape
    return np.where(shape, level, 0.0)


def _within(mask: np.ndarray, radius: int) -> np.ndarray:
    """The pixels within ``radius`` of ``mask``: its dilation by ``disk(radius)``, and the complement of the erosion
    of its complement, exactly (a pixel's squared distance to the nearest one is a whole number), computed from the
    distance transform: a min or max filter over a disk takes time as the disk's area, seconds on a wide blob."""
    if not mask.any():
        return mask.copy()
    return ndimage.distance_transform_edt(~mask) ** 2 <= radius ** 2


def _box_of(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of the non-zero pixels, as slices."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        raise ImageError("the image holds no digit: nothing stands out from the paper")
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


# --- 6. MNIST's steps -----------------------------------------------------------------------------------------------

def mnist_frame(shape: np.ndarray) -> np.ndarray:
    """A digit's ink coverage (0-1) as MNIST's 28x28 uint8: its longer side scaled to 20 pixels, each pixel's grey
    the ink it covers, centred by centre of mass."""
    shape = shape[_box_of(shape)]
    height, width = _fit(shape.shape, DIGIT_BOX)
    fine = resize(shape.astype(float), (4 * height, 4 * width), order=1)
    return _centre(np.clip(downscale_local_mean(fine, (4, 4)), 0, 1) * 255)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste the digit into a black 28x28 frame, shifted by whole pixels so its centre of mass is at (14, 14).

    As LeCun et al. did: the centre of mass, not the bounding box's centre, so a 7's heavy top bar sits
    where it does in MNIST. A digit whose mass lies far off its box's centre would be pushed past the
    frame's edge; it is then moved only as far as the frame allows, keeping every stroke.
    """
    height, width = digit.shape
    total = digit.sum()
    if total <= 0:
        raise ImageError("the image holds no digit: nothing is left after scaling it to 20x20")
    centre_row = np.arange(height) @ digit.sum(axis=1) / total
    centre_col = np.arange(width) @ digit.sum(axis=0) / total
    top = int(np.clip(round(CENTRE[0] - centre_row), 0, IMAGE_SIDE - height))
    left = int(np.clip(round(CENTRE[1] - centre_col), 0, IMAGE_SIDE - width))
    frame = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
    frame[top:top + height, left:left + width] = digit
    return np.round(frame).astype(np.uint8)
