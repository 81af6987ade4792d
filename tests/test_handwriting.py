"""Pictures as people take them: each step of :mod:`mnist_pipeline.app.imaging` on its own, then every condition of
``benchmarks/handwriting.py`` against floors.

Two kinds of floor. Without models (fast): what the preprocessing makes of a picture must look like the MNIST
digit the picture was drawn from (median pixel correlation). With the pipeline's own models trained on the full
data by the default params (``slow``, the models ``default_run`` makes): the accuracy per condition.
"""

import numpy as np
import pytest
from mnist_for_tests import read_mnist
from PIL import Image, ImageDraw
from skimage.data import lfw_subset
from skimage.filters import gaussian
from skimage.measure import label, regionprops
from skimage.transform import resize

from benchmarks.handwriting import (
    CONDITIONS,
    NO_DIGIT_CONDITIONS,
    OTHER_CONDITIONS,
    cropped_scan,
    make_samples,
    pen_path,
    place,
    readings,
    scan_read_directly,
    scores,
    stroke,
)
from mnist_pipeline.app import imaging, predict, verdicts
from mnist_pipeline.app.verdicts import MOST_PAPER_SHADE, as_number
from mnist_pipeline.digits import IMAGE_SIDE

# Median correlation between the preprocessed picture and its MNIST digit, over 40 pictures; measured: clean and
# specks 0.98, the pens and papers 0.82-0.90 (a pen redraws the digit's path, so the pixels differ). Before this
# preprocessing, ruled paper gave digits no model could read.
CORRELATION_FLOORS = {"clean": 0.95, "specks": 0.95} | {name: 0.78 for name in CONDITIONS if name not in
                                                         ("clean", "specks")}

# Accuracy of the default models per condition, 100 pictures each (seed 0), measured with the committed models
# (`python -m benchmarks.handwriting`; a number counts only when every digit is right). The targets are
# nn >= 97% and logreg >= 85% in every condition; each floor is the target, or 2 points under the measure where
# that is lower (a target not met, or met with no room; docs/predicting.md says which).
TARGETS = {"logreg": 0.85, "nn": 0.97}
MEASURED = {
    "logreg": {"clean": 0.99, "photo": 0.99, "ballpoint": 0.96, "marker": 0.97, "ruled": 0.97, "squared": 1.00,
               "specks": 0.97, "transparent-white": 0.99, "transparent-black": 0.98, "black-canvas": 0.98,
               "low-resolution": 0.98, "other-writers": 0.95, "low-res-writers": 0.91, "number": 0.95,
               "touching-number": 0.88, "pressed-number": 0.07},
    "nn": {"clean": 1.00, "photo": 0.99, "ballpoint": 0.98, "marker": 0.98, "ruled": 0.98, "squared": 0.99,
           "specks": 1.00, "transparent-white": 0.99, "transparent-black": 1.00, "black-canvas": 0.98,
           "low-resolution": 0.98, "other-writers": 0.99, "low-res-writers": 0.99, "number": 0.97,
           "touching-number": 0.93, "pressed-number": 0.08},
}
ACCURACY_FLOORS = {model: {condition: min(TARGETS[model], round(measured - 0.02, 2))
                           for condition, measured in conditions.items()} for model, conditions in MEASURED.items()}
# For numbers, also the digits read one by one (when the picture is cut into as many digits as it holds); for
# digits pressed into each other (keyed True), where cutting them apart is guessed, measured logreg 52%, nn 67%.
DIGIT_FLOORS = {False: {"logreg": 0.90, "nn": 0.97}, True: {"logreg": 0.45, "nn": 0.60}}
# The answers given as sure, in every condition (a digit is sure only where both models are): measured 98.8% to 100%
# right (the goal is 99%; one wrong among 80 and 90 sure answers puts `number` and `marker` under it). Digits pressed
# into each other (one piece of ink) are the exception: two such digits can make one digit of a plausible shape, read
# surely (1 number in 100, wrong); the share answered surely is bounded there instead. Most clean digits are still
# answered surely: measured 97%.
SURE_FLOOR = 0.98
PRESSED_SURE_CEILING = 0.03
CLEAN_SURE_FLOOR = 0.9
# Pictures that hold no digit answered surely (a digit both models are sure of, on paper that is not shaded as a
# photo is): measured none of noise, of blank pages and of faces, and 1% of crops of photographed scenes (the goal is
# none: docs/predicting.md). Faces, met: none of 600 over seeds 1 to 6 either.
NO_DIGIT_SURE_CEILINGS = {"noise": 0.02, "blank-page": 0.02, "photo-of-a-scene": 0.03, "photo-of-a-face": 0.0}


@pytest.fixture(scope="module")
def test_digits(mnist_mirror):
    from benchmarks.handwriting import load_test_digits

    return load_test_digits(mnist_mirror)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_the_generator_is_deterministic(test_digits):
    x, y = test_digits
    for condition in ("photo", "number"):
        first, second = make_samples(condition, x, y, 3, seed=7), make_samples(condition, x, y, 3, seed=7)
        assert [s.label for s in first] == [s.label for s in second]
        assert all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_each_condition_gives_the_digit_it_was_drawn_from(condition, test_digits):
    x, y = test_digits
    samples = make_samples(condition, x, y, 40)
    scores = [correlation(imaging.to_mnist(sample.image), x[sample.source]) for sample in samples]
    assert np.median(scores) >= CORRELATION_FLOORS[condition], (condition, np.median(scores))


@pytest.mark.parametrize(("width", "height"), [(1, 300), (1, 600), (2, 600)])
def test_a_drawing_apps_pencil_one_or_two_pixels_wide_keeps_its_strokes(width, height, test_digits):
    # A digit hundreds of pixels tall in a 1-2 px stroke: shrunk to be measured, such a stroke would vanish (the
    # digit came out a dot, a disc, or no digit at all) unless it is widened first.
    x, _ = test_digits
    rng = np.random.default_rng([width, height])
    scores = [correlation(imaging.to_mnist(255 - 255 * place(stroke(pen_path(x[i], height), width), rng,
                                                                 margin=(0.02, 0.05))), x[i]) for i in range(10)]
    assert np.median(scores) >= CORRELATION_FLOORS["ballpoint"], np.median(scores)


def test_numbers_are_cut_into_their_digits(test_digits):
    x, y = test_digits
    samples = make_samples("number", x, y, 60)
    counts = [len(imaging.to_mnist_digits(sample.image)) == len(sample.label) for sample in samples]
    assert np.mean(counts) >= 0.95, np.mean(counts)


@pytest.mark.heavy  # 20 photos of numbers read
def test_a_pressed_number_is_one_piece_of_ink(test_digits):
    # What the condition claims: each digit run into its neighbour, so only the models can part them (measured:
    # 39 of 40 read as one piece; a digit's own stroke broken makes the other a second piece).
    x, y = test_digits
    samples = make_samples("pressed-number", x, y, 20)
    assert all(len(sample.label) >= 2 for sample in samples)
    pieces = [len(imaging.to_mnist_digits(sample.image)) for sample in samples]
    assert np.mean([count == 1 for count in pieces]) >= 0.9, pieces


# --- each step ------------------------------------------------------------------------------------------------------

def stroke_picture(paper=255.0, ink=0.0, size=(240, 240)) -> np.ndarray:
    """A grey picture: a thick '7' in ``ink`` on ``paper``."""
    image = Image.new("F", size, paper)
    draw = ImageDraw.Draw(image)
    draw.line([(70, 60), (170, 60)], fill=ink, width=14)
    draw.line([(170, 60), (110, 190)], fill=ink, width=14)
    return np.asarray(image, dtype=float)


def test_the_paper_around_a_digit_is_bare_however_blurred_or_lit_and_a_photos_is_shaded():
    picture = stroke_picture(paper=235, ink=30)
    for seen in (picture, gaussian(picture, sigma=6, preserve_range=True),
                 picture * np.linspace(1.0, 0.35, picture.shape[1])[None, :]):
        assert imaging.read_digit(seen)[1] < 0.01
    # A number's paper is what lies away from all of its digits' ink.
    number = np.concatenate([picture, picture], axis=1)
    assert imaging.read_number(number, lambda digits, aspects: np.zeros(len(digits)))[2] < 0.01
    # Faces (scikit-image's bundled Labeled Faces in the Wild, enlarged): whatever the reading keeps as their ink,
    # the rest of the photo around it is shaded, over the verdicts' bound in 13 of the first 20 (the benchmark's
    # faces that a model answered surely: 57 of 70).
    shades = []
    for face in lfw_subset()[:20]:
        try:
            shades.append(imaging.read_digit(resize(face, (200, 200), order=3) * 255)[1])
        except imaging.ImageError:
            continue
    assert sum(shade > MOST_PAPER_SHADE for shade in shades) >= 10, np.round(shades, 2)


@pytest.mark.heavy  # 15 face photos taken through the benchmark's camera; test_verdicts has the rule's own unit tests
def test_a_photographed_face_kept_as_a_digit_is_doubted_by_its_grey_ink_where_its_paper_passes():
    # The benchmark's face photo (seed 1, the 15th) that both models read as a sure 8 before the grey fill was a
    # doubt: its paper is under the verdicts' bound and no other shape doubt holds, so the grey fill alone keeps the
    # 8 from being sure. (A face takes no MNIST digit: none are given.)
    no_digits = np.zeros((0, IMAGE_SIDE, IMAGE_SIDE), np.uint8), np.zeros(0, np.uint8)
    face = make_samples("photo-of-a-face", *no_digits, 15, seed=1)[14]
    digit, paper, _ = imaging.read_digit(face.image)
    assert paper <= MOST_PAPER_SHADE
    assert verdicts.shape_doubts(digit) == ["its ink fills 57% of its box in shades of grey (57% of it light), where "
                                            "a pen's broad stroke is dark (a photo of a face?)"]


def test_light_falling_off_across_the_page_is_flattened():
    picture = stroke_picture(paper=235, ink=30)
    light = np.linspace(1.0, 0.35, picture.shape[1])[None, :]  # the right edge gets a third of the light
    ink = imaging.ink_map(picture * light)
    stroke = stroke_picture(paper=0, ink=1) > 0.5
    assert ink[~stroke].max() < 0.2  # the whole page, dark side included, reads as paper
    assert np.median(ink[stroke]) > 0.8
    assert np.array_equal(imaging.to_mnist(picture * light), imaging.to_mnist(picture))


def test_transparent_canvas_the_ink_is_the_alpha_whatever_its_colour():
    alpha = 255 - stroke_picture()
    white = np.dstack([np.full_like(alpha, 255.0)] * 3 + [alpha])
    black = np.dstack([np.zeros_like(alpha)] * 3 + [alpha])
    on_black_canvas = 255 - stroke_picture()
    assert np.array_equal(imaging.to_mnist(white), imaging.to_mnist(black))
    assert np.abs(imaging.to_mnist(white).astype(int) - imaging.to_mnist(on_black_canvas)).max() <= 2


def test_ruled_lines_and_a_margin_are_removed_and_the_strokes_across_them_kept():
    picture = np.full((240, 300), 250.0)
    picture[:, 140:152] = 20  # a '1' written from edge to edge of the text, crossing every line
    picture[5:235, 140:152] = 20
    picture[:5] = picture[235:] = 250
    for row in range(20, 240, 30):
        picture[row:row + 2] = 150  # blue-grey rules, edge to edge
    picture[:, 40:42] = 120  # a red margin
    mask = imaging.remove_rules(imaging.ink_mask(imaging.ink_map(picture)))
    assert not mask[:, :100].any() and not mask[:, 200:].any()
    stroke = max(regionprops(label(mask, connectivity=2)), key=lambda piece: piece.area)
    assert stroke.bbox[0] <= 6 and stroke.bbox[2] >= 234  # the '1' in one piece: its crossings bridged


def test_a_digit_drawn_edge_to_edge_is_not_taken_for_a_rule():
    picture = np.full((200, 200), 255.0)
    picture[:, 95:108] = 0
    assert imaging.to_mnist(picture).max() == 255


def ring(side: int = 200, thickness: int = 26) -> np.ndarray:
    """A '0' cropped to its ink: an elliptic ring, ``side`` tall and 0.7 of it wide, touching all four sides of the
    picture (ink 1, paper 0)."""
    width = round(0.7 * side)
    rows, cols = np.mgrid[0:side, 0:width]
    radius = np.hypot((rows - (side - 1) / 2) / (side / 2), (cols - (width - 1) / 2) / (width / 2))
    return ((radius <= 1) & (radius >= 1 - thickness / (side / 2))).astype(float)


@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_digit_cropped_to_its_ink_keeps_its_strokes_where_they_touch_the_frame(light_on_dark):
    # The paper beyond the frame is taken as the picture's own paper: the strokes at the edge stay ink, where the
    # paper's estimate would otherwise follow them out of the picture.
    zero = ring()
    picture = 255 * zero if light_on_dark else 255 - 255 * zero
    ink = imaging.ink_map(picture)
    edges = [ink[:3].max(axis=0), ink[-3:].max(axis=0), ink[:, :3].max(axis=1), ink[:, -3:].max(axis=1)]
    assert all(edge.max() > 0.8 for edge in edges)
    assert np.median(ink[zero > 0]) > 0.8 and ink[zero == 0].max() < 0.2
    digit = imaging.to_mnist(picture)
    assert digit[14, 12:16].max() < 60  # the hole stays open
    assert (digit > 128).sum() > 60  # a whole ring, not a broken arc


def test_the_ink_is_what_differs_from_the_frames_paper_even_where_it_fills_most_of_the_picture():
    # A fat '0' filling most of a tight crop: the median pixel is ink; the frame, mostly paper, still says which.
    zero = ring(thickness=56)
    assert zero.mean() > 0.5
    for picture in (255 * zero, 255 - 255 * zero):
        ink = imaging.ink_map(picture)
        assert np.median(ink[zero > 0]) > 0.8 and np.median(ink[zero == 0]) < 0.2


def boxy_zero(side: int = 160, thickness: int = 30, cut: float = 0.22) -> np.ndarray:
    """A boxy '0' cropped to its ink: a square ring whose sides run along the frame, its corners cut off
    diagonally, so that ink lines most of the frame and the corners are paper (ink 1, paper 0)."""
    rows, cols = np.mgrid[0:side, 0:side]
    from_corner = np.minimum(rows, side - 1 - rows) + np.minimum(cols, side - 1 - cols)
    centre = (side - 1) / 2
    hole = (np.abs(rows - centre) < side / 2 - thickness) & (np.abs(cols - centre) < side / 2 - thickness)
    return ((from_corner >= cut * side) & ~hole).astype(float)


@pytest.mark.parametrize("light_on_dark", [False, True])
def test_the_paper_is_read_in_the_corners_where_a_tightly_cropped_digit_lines_the_frame(light_on_dark):
    zero = boxy_zero()
    frame = np.concatenate([zero[0], zero[-1], zero[:, 0], zero[:, -1]])
    assert np.median(frame) == 1 and zero[:20, :20].mean() < 0.05  # the frame mostly ink, the corners paper
    picture = 255 * zero if light_on_dark else 255 - 255 * zero
    assert imaging._dark_ink(imaging._corner_levels(picture)) is not light_on_dark
    ink = imaging.ink_map(picture)
    assert np.median(ink[zero > 0]) > 0.8 and np.median(ink[zero == 0]) < 0.2
    assert imaging.to_mnist(picture)[14, 12:16].max() < 60  # the hole is paper


# load_digits scans cut to their ink, shown 80 px tall, smooth (order 3) or blocky (order 0). A 2 (22) and an 8 (18)
# whose strokes fill two or three corners: the corners' level lies midway, and the polarity is the one whose ink is
# fewer pieces. A 9 (199) and a 9 (285), whose faint strokes cover much of the crop: the paper beyond the frame
# is the picture's own lightest level, not the median of what was first taken for paper.
SMALL_SCANS = [(22, 3), (18, 3), (199, 0), (285, 0)]


def shown_scan(index: int, order: int, height: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """A load_digits scan cut to its ink (:func:`cropped_scan`), and that scan shown ``height`` px tall, smooth
    (order 3) or blocky (order 0), as ink 0-1."""
    from sklearn.datasets import load_digits

    glyph = cropped_scan(load_digits().images[index])
    shown = resize(glyph, (height, round(glyph.shape[1] * height / glyph.shape[0])), order=order, anti_aliasing=False)
    return glyph, np.clip(shown, 0, 1)


@pytest.mark.parametrize(("index", "order"), SMALL_SCANS)
@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_small_scan_cut_to_its_ink_is_read_as_the_scan_itself(index, order, light_on_dark):
    glyph, shown = shown_scan(index, order)
    picture = 255 * shown
    read = imaging.to_mnist(picture if light_on_dark else 255 - picture)
    assert np.corrcoef(read.ravel(), scan_read_directly(glyph).ravel())[0, 1] > 0.8


def faint_stretch_zero(grid: bool = False) -> np.ndarray:
    """A blurred '0' on white paper whose ring fades to 0.3 of its ink along its right-hand side, as a small scan's
    faint pixel does when enlarged; with ``grid``, on squared paper of lines as faint, 2 pixels wide."""
    ink = np.pad(ring(120, 16), 40)
    rows, cols = np.mgrid[:ink.shape[0], :ink.shape[1]]
    ink[(ink > 0) & (cols > ink.shape[1] / 2 + 30)] = 0.3
    ink = gaussian(ink, 2)
    if grid:
        lines = (rows % 24 < 2) | (cols % 24 < 2)
        ink[lines] = np.maximum(ink[lines], 0.3)
    return 255 - 255 * ink


def test_a_faint_stretch_that_closes_a_loop_is_ink():
    ink = imaging.ink_map(faint_stretch_zero())
    assert imaging.count_holes(imaging.ink_mask(ink), imaging.LOOP_HOLE) == 0  # Otsu's threshold alone: open
    assert imaging.count_holes(imaging.close_loops(ink, imaging.ink_threshold(ink)), imaging.LOOP_HOLE) == 1
    digit = imaging.to_mnist(faint_stretch_zero())
    assert label(digit < 64, connectivity=1).max() == 2  # the paper outside the 0, and its hole


def test_on_squared_paper_faint_ink_joins_no_loop(monkeypatch):
    ink = imaging.ink_map(faint_stretch_zero(grid=True))
    assert imaging.close_loops(ink, imaging.ink_threshold(ink)) is None
    # What the rules keep out: with no check for them, the faint lines join the 0 and enclose squares.
    monkeypatch.setattr(imaging, "RULE_INK", 1.0)
    assert imaging.count_holes(imaging.close_loops(ink, imaging.ink_threshold(ink)), imaging.LOOP_HOLE) > 1


# load_digits 0s whose loop has a faint stretch, shown 80 px tall, blocky or smooth, light on dark: Otsu's threshold
# alone leaves each open, a C.
FAINT_ZEROS = [(48, 0), (276, 3), (292, 3), (594, 3), (695, 0)]


@pytest.mark.parametrize(("index", "order"), FAINT_ZEROS)
def test_a_small_scans_zero_with_a_faint_stretch_is_read_closed(index, order):
    glyph, shown = shown_scan(index, order)
    digit = imaging.to_mnist(255 * shown)
    assert label(digit < 64, connectivity=1).max() == 2  # the paper outside the 0, and its hole
    assert np.corrcoef(digit.ravel(), scan_read_directly(glyph).ravel())[0, 1] > 0.95


# load_digits scans whose broad strokes line the frame of their tight crop (shown 80 px tall, blocky or smooth). The
# paper's estimated level there takes in part of the stroke, whichever the polarity.
NEGATIVE_SCANS = [(217, 0), (219, 0), (236, 0), (268, 3), (287, 3)]


@pytest.mark.parametrize(("index", "order"), NEGATIVE_SCANS)
def test_a_picture_and_its_negative_are_read_as_the_same_digit(index, order):
    glyph, shown = shown_scan(index, order)
    light_on_dark = 255 * shown
    read = [imaging.to_mnist(picture) for picture in (light_on_dark, 255 - light_on_dark)]
    assert np.corrcoef(read[0].ravel(), read[1].ravel())[0, 1] > 0.99
    for digit in read:
        assert np.corrcoef(digit.ravel(), scan_read_directly(glyph).ravel())[0, 1] > 0.85


def test_a_small_scan_enlarged_pixel_by_pixel_is_read_as_its_smooth_enlargement():
    small = np.zeros((8, 6))
    small[1:7, 1] = small[1:7, 4] = small[1, 1:5] = small[6, 1:5] = 1  # a blocky 0
    blocky = 255 - 255 * np.kron(small, np.ones((12, 12)))
    assert imaging._block_size(blocky) == 12
    assert imaging._block_size(stroke_picture()) is None  # anti-aliased strokes change at every pixel
    assert imaging._block_size(255 - 255 * ring()) is None
    # Smoothed, the blocks' staircase makes no strokes of its own: one ring, its hole open.
    digit = imaging.to_mnist(blocky)
    assert label(digit > 64).max() == 1 and digit[14, 12:16].max() < 60


def test_a_picture_of_noise_is_read_piece_by_piece_once(monkeypatch):
    # Thousands of specks: each is looked at once, not once per piece taken (which took a minute for one picture).
    rng = np.random.default_rng(0)
    noise = rng.uniform(20, 255, (300, 300))  # paper lighter than the dark bar drawn on it, whatever its corners
    noise[100:200, 140:160] = 0
    mask = imaging.remove_rules(imaging.ink_mask(imaging.ink_map(noise)))
    assert len(regionprops(label(mask, connectivity=2))) > 500
    # The bar and the specks that touch it make a mesh of holes: no digit.
    with pytest.raises(imaging.ImageError, match=r"its ink encloses \d+ holes"):
        imaging.digit_mask(mask)
    monkeypatch.setattr(imaging, "MAX_HOLES", mask.size)
    digit = imaging.digit_mask(mask)
    assert digit[100:200, 140:160].mean() > 0.9  # the bar is the digit the mesh is made around


@pytest.mark.parametrize("number", [False, True])
def test_a_picture_of_noise_alone_holds_no_digit(number):
    noise = np.random.default_rng(1).uniform(0, 255, (400, 400))
    read = imaging.to_mnist_digits if number else imaging.to_mnist
    # Refused as scattered marks or as a mesh of holes, depending on how its "paper" is read: either says noise.
    with pytest.raises(imaging.ImageError, match=r"^the image holds no digit: .*\(noise(,| or) a texture"):
        read(noise)


@pytest.mark.parametrize("number", [False, True])
def test_a_mesh_enclosing_many_holes_holds_no_digit_but_an_eight_with_two_does(number):
    mesh = np.full((300, 300), 255.0)
    for line in range(60, 241, 30):  # a net of 7 lines each way, 3 pixels thick, clear of the edges: 6 x 6 holes
        mesh[line:line + 3, 60:243] = mesh[60:243, line:line + 3] = 0
    read = imaging.to_mnist_digits if number else imaging.to_mnist
    with pytest.raises(imaging.ImageError, match=r"^the image holds no digit: its ink encloses 36 holes \(noise, a "
                                                 r"texture or a scene\), where a digit has at most two$"):
        read(mesh)
    eight = np.full((300, 300), 255.0)
    rows, cols = np.mgrid[0:300, 0:300]
    for centre, radius in ((100, 50), (190, 60)):  # two rings, one on the other
        distance = np.hypot(rows - centre, cols - 150)
        eight[(distance <= radius) & (distance >= radius - 14)] = 0
    assert read(eight).max() == 255


def test_a_texture_of_many_like_marks_holds_no_digit_but_a_digit_among_specks_does():
    dots = np.full((300, 300), 255.0)
    for row in range(20, 300, 50):
        for col in range(20, 300, 50):
            dots[row:row + 12, col:col + 12] = 0  # 36 marks of one size: a texture
    with pytest.raises(imaging.ImageError, match=r"^the image holds no digit: its ink is scattered in 36 marks"):
        imaging.to_mnist(dots)
    dusty = stroke_picture()
    dusty[5:8, 5:8] = dusty[230:233, 10:13] = 0  # specks are no marks of a texture
    assert imaging.to_mnist(dusty).max() == 255


def filled(shape: str, light_on_dark: bool = False) -> np.ndarray:
    """A filled disc or ellipse, wider than the closing that estimates the paper's level, on a 180x220 picture."""
    image = Image.new("L", (180, 220), 0 if light_on_dark else 255)
    draw = ImageDraw.Draw(image)
    ink = 255 if light_on_dark else 0
    draw.ellipse((30, 50, 150, 170) if shape == "disc" else (30, 20, 150, 200), fill=ink)
    return np.asarray(image, dtype=float)


@pytest.mark.parametrize("light_on_dark", [False, True])
@pytest.mark.parametrize("number", [False, True])
@pytest.mark.parametrize("shape", ["disc", "ellipse"])
def test_a_filled_round_shape_holds_no_digit_whatever_its_size(shape, number, light_on_dark):
    # Read as its rim once the paper's level is subtracted, a disc was a ring, a sure 0; thinned towards a stroke,
    # a filled ellipse became its skeleton, a sure 1. (A square's skeleton is its diagonals, a stroke's length: it
    # stays a square, which the verdicts doubt as a filled shape.)
    read = imaging.to_mnist_digits if number else imaging.to_mnist
    with pytest.raises(imaging.ImageError, match=r"^the image holds no digit: its ink is a filled shape \(a blot, a "
                                                 r"disc\), not a pen's strokes$"):
        read(filled(shape, light_on_dark))


def test_a_filled_shape_is_ink_through_but_a_loops_paper_stays_paper_even_in_shade():
    ink = imaging.ink_map(filled("disc"))
    assert ink[110, 90] > 0.5  # the disc's centre: ink, not paper at the disc's own level
    rows, cols = np.mgrid[0:220, 0:180]
    distance = np.hypot(rows - 110, cols - 90)
    ring = np.full((220, 180), 255.0)
    ring[distance <= 60] = 150  # a shadow inside the loop: darker than the paper, far lighter than the ink
    ring[(distance <= 60) & (distance >= 44)] = 0
    ink = imaging.ink_map(ring)
    assert ink[110, 90] < imaging.ink_threshold(ink)  # the loop's paper, shaded, is no ink
    assert imaging.to_mnist(ring)[14, 14] == 0


def test_specks_and_a_stray_mark_are_dropped():
    clean = stroke_picture()
    dusty = clean.copy()
    for row, col in ((10, 10), (220, 30), (200, 225), (15, 200), (120, 20)):
        dusty[row:row + 4, col:col + 4] = 0
    dusty[225:229, 180:215] = 0  # a stray pen mark near a corner
    assert np.array_equal(imaging.to_mnist(dusty), imaging.to_mnist(clean))


@pytest.mark.parametrize("width", [2, 40], ids=["ballpoint", "marker"])
def test_stroke_width_is_brought_to_mnists_range(width):
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).line([(80, 70), (220, 70), (130, 250)], fill=0, width=width, joint="curve")
    ink = imaging.ink_map(image)
    shape = imaging.normalise_stroke(imaging.digit_mask(imaging.ink_mask(ink)), ink) > 0
    from skimage.morphology import skeletonize

    measured = shape.sum() / skeletonize(shape).sum() / imaging.STROKE_SIDE
    low, high = imaging.STROKE_WIDTH_RANGE
    assert low * 0.8 <= measured <= high * 1.6, measured  # a thick stroke is thinned by a third of its excess


@pytest.mark.heavy  # skeletons of 3,000 digits
def test_mnist_stroke_width_range_is_what_mnist_holds(mnist_mirror):
    """The constants were measured on MNIST's training digits; measured again, they agree."""
    from skimage.morphology import skeletonize
    from skimage.transform import resize

    digits = read_mnist(mnist_mirror, "train-images-idx3-ubyte")[:3000]
    widths = []
    for digit in digits:
        rows, cols = np.flatnonzero(digit.max(axis=1)), np.flatnonzero(digit.max(axis=0))
        crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] / 255
        size = imaging._fit(crop.shape, imaging.STROKE_SIDE)
        shape = resize(crop, size, order=1) > 0.5
        widths.append(shape.sum() / skeletonize(shape).sum() / imaging.STROKE_SIDE)
    median, p90 = np.percentile(widths, [50, 90])
    assert pytest.approx((median, p90), abs=0.002) == imaging.STROKE_WIDTH_RANGE


def test_a_number_is_read_left_to_right(test_digits):
    x, y = test_digits
    indices = [int(np.flatnonzero(y == d)[0]) for d in (2, 0, 2, 6)]
    row = np.hstack([np.pad(x[i], ((10, 10), (4, 4))) for i in indices])
    digits = imaging.to_mnist_digits(row)
    assert digits.shape == (4, IMAGE_SIDE, IMAGE_SIDE)
    for digit, index in zip(digits, indices, strict=True):
        assert correlation(digit, x[index]) > 0.8


# --- the default models on every condition (slow) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_models(default_run):
    return predict.load_models(models_dir=default_run.root / "models")


@pytest.mark.slow
@pytest.mark.parametrize("condition", [*CONDITIONS, *OTHER_CONDITIONS])
def test_default_models_reach_the_floors_on_each_condition(condition, test_digits, default_models):
    x, y = test_digits
    samples = make_samples(condition, x, y, 100)
    # Judged as mnist-predict judges: both models together, with the run's own sure thresholds.
    assert None not in default_models.thresholds.values()
    read = [readings(sample, default_models) for sample in samples]
    judged = scores(samples, default_models, read)
    if "number" in condition:
        assert None not in read  # every number is read, none refused
    for name in default_models:
        print(f"{condition} {name}: {judged[name]}")  # noqa: T201
        assert judged[name].right >= ACCURACY_FLOORS[name][condition], (condition, name, judged[name])
        if condition == "pressed-number":
            assert judged[name].sure <= PRESSED_SURE_CEILING, (condition, name, judged[name])
        else:
            assert judged[name].sure_right >= SURE_FLOOR, (condition, name, judged[name])
        if condition == "clean":
            assert judged[name].sure >= CLEAN_SURE_FLOOR, (condition, name, judged[name])
        if "number" in condition:
            answers = [(as_number(answer[name])["number"], sample.label)
                       for answer, sample in zip(read, samples, strict=True)]
            digits = [(a, b) for answer, label in answers if len(answer) == len(label)
                      for a, b in zip(answer, label, strict=True)]
            right = sum(a == b for a, b in digits) / len(digits)
            print(f"{condition} {name}: {right:.3f} of the digits right where the count is")  # noqa: T201
            assert right >= DIGIT_FLOORS[condition == "pressed-number"][name], (name, right)


@pytest.mark.slow
@pytest.mark.parametrize("condition", NO_DIGIT_CONDITIONS)
def test_pictures_without_a_digit_are_seldom_answered_surely(condition, test_digits, default_models):
    x, y = test_digits
    judged = scores(make_samples(condition, x, y, 100), default_models)
    for name in default_models:
        print(f"{condition} {name}: {judged[name].sure:.0%} answered surely")  # noqa: T201
        assert judged[name].sure <= NO_DIGIT_SURE_CEILINGS[condition], (condition, name, judged[name])
