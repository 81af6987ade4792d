"""Where a number's digits part (:mod:`mnist_pipeline.app.segmentation`): seams, atoms and the reading the models
are surest of, on drawn shapes, and through :func:`mnist_pipeline.app.imaging.read_number`."""

import itertools

import numpy as np
import pytest
from mnist_for_tests import read_mnist
from PIL import Image, ImageDraw

from mnist_pipeline.app import imaging, segmentation


def rings(centres: list[int], radius: int = 30, width: int = 8, size: tuple[int, int] = (100, 260)) -> np.ndarray:
    """A boolean mask of rings (zeros) of ``radius`` centred at these columns, on one row."""
    image = Image.new("1", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(image)
    for column in centres:
        draw.ellipse([column - radius, 50 - radius, column + radius, 50 + radius], outline=1, width=width)
    return np.array(image, dtype=bool)


def bridged(centres: list[int], size: tuple[int, int] = (100, 260)) -> np.ndarray:
    """:func:`rings` joined by a short bar between each two, one piece of ink: digits written so close they meet."""
    mask = rings(centres, size=size)
    for left, right in itertools.pairwise(centres):
        mask[48:53, left + 26:right - 26] = True
    return mask


def test_digits_that_meet_are_cut_where_they_meet():
    mask = bridged([60, 128])  # the rings' outlines end at 90 and 98, the bar spans 86-102
    assert imaging._labelled(mask)[1].size == 1
    rows = np.flatnonzero(mask.any(axis=1))
    middles = [seam[rows[0]:rows[-1] + 1].mean() for seam in segmentation.seams(mask, height=60)]  # in the ink's rows
    assert middles == sorted(middles) and len(middles) <= segmentation.MAX_SEAMS
    assert any(90 <= middle <= 98 for middle in middles), middles
    assert all(b - a >= 6 for a, b in itertools.pairwise(middles))  # SEAM_SPACING of 60
    atoms, origin = segmentation.atoms([mask], height=60)
    assert origin == [0] * (len(middles) + 1)
    assert np.array_equal(np.logical_or.reduce(atoms), mask)
    assert not any((a & b).any() for i, a in enumerate(atoms) for b in atoms[i + 1:])


def test_a_narrow_piece_is_not_cut():
    bar = np.zeros((100, 40), dtype=bool)
    bar[20:80, 15:22] = True  # a 1: narrower than two digits that meet
    assert segmentation.seams(bar, height=60) == []
    (atom,), origin = segmentation.atoms([bar], height=60)
    assert np.array_equal(atom, bar) and origin == [0]


def two_bars(width: int, left: int = 5) -> np.ndarray:
    """Two upright bars 7 pixels wide, their outer edges ``width`` apart, joined by a bar one pixel high: one piece,
    from column ``left``, 60 rows high."""
    mask = np.zeros((80, left + width + 10), dtype=bool)
    mask[10:70, left:left + 7] = mask[10:70, left + width - 7:left + width] = True
    mask[50, left:left + width] = True
    return mask


def test_a_piece_is_cut_only_when_wider_than_its_share_of_the_height():
    # MIN_CUT_WIDTH of a height of 60 is 48 pixels: a piece that wide is left whole, one a pixel wider is cut where
    # the thin bar joins its halves.
    assert segmentation.seams(two_bars(48), height=60) == []
    (seam, *_) = segmentation.seams(two_bars(49), height=60)
    assert seam[10:70].min() >= 5 + 7 and seam[10:70].max() < 5 + 49 - 7  # between the bars


def test_a_seam_follows_the_paper_between_two_digits_row_by_row():
    # Ink everywhere but a channel of paper one pixel wide that bends right, then left: the seam that crosses no ink
    # takes it column for column, and holds its end columns in the empty rows above and below the ink.
    channel = [15 + row for row in range(20)] + [34 - row for row in range(20)]
    mask = np.zeros((46, 60), dtype=bool)
    mask[3:43] = True
    mask[np.arange(3, 43), channel] = False
    expected = np.array([channel[0]] * 3 + channel + [channel[-1]] * 3)
    assert any(np.array_equal(seam, expected) for seam in segmentation.seams(mask, height=40))


@pytest.mark.parametrize(("crossed", "cut"), [(10, True), (11, False)])
def test_a_seam_crosses_at_most_its_share_of_ink(crossed, cut):
    # MAX_SEAM_INK of a height of 40 is 10 pixels: a channel of paper barred by 10 rows of ink is cut, by 11 not.
    # The channel steps aside in its first row, which the seam follows at no cost.
    mask = np.ones((40, 41), dtype=bool)
    mask[1:, 20] = mask[0, 19] = False
    mask[15:15 + crossed, 20] = True
    found = segmentation.seams(mask, height=40)
    assert [seam.tolist() for seam in found] == ([[19] + [20] * 39] if cut else [])


def channels(shape: tuple[int, int], columns: list[int]) -> np.ndarray:
    """Ink everywhere but channels of paper one pixel wide, top to bottom, at ``columns``."""
    mask = np.ones(shape, dtype=bool)
    mask[:, columns] = False
    return mask


def test_seams_keep_their_spacing_from_the_sides_and_from_each_other():
    # A row 10 pixels high keeps seams a pixel from its sides (SEAM_SPACING rounds to at least one): of 10 columns,
    # 1 and 8 may be cut, the outermost where a seam may lie.
    assert [seam.tolist() for seam in segmentation.seams(channels((10, 10), [1, 8]), height=10)] == [[1] * 10, [8] * 10]
    # A seam where a single pixel of ink marks the last column is too close to the side.
    mask = channels((10, 10), [4, 9])
    mask[0, 9] = True
    assert [seam.tolist() for seam in segmentation.seams(mask, height=10)] == [[4] * 10]
    # 40 pixels high: seams 4 pixels apart, SEAM_SPACING exactly, are both kept.
    found = segmentation.seams(channels((40, 41), [20, 24]), height=40)
    assert [seam.tolist() for seam in found] == [[20] * 40, [24] * 40]


def test_atoms_keep_the_ink_at_the_masks_first_and_last_columns():
    mask = np.ones((40, 41), dtype=bool)  # ink from the first column to the last, parted down column 20
    mask[:, 20] = False
    atoms, origin = segmentation.atoms([mask], height=40)
    assert origin == [0, 0] and np.array_equal(atoms[0] | atoms[1], mask)
    assert atoms[0][:, 0].all() and atoms[1][:, 40].all()


def test_runs_cover_at_most_two_pieces_and_each_piece_whole():
    origin = [0, 0, 0, 0, 0, 1, 2]
    runs = segmentation.candidate_runs(origin)
    assert (0, 5) in runs  # the first piece whole, though of more than MAX_ATOMS atoms
    assert (0, 4) in runs and (3, 6) in runs and (1, 5) in runs
    assert (4, 7) not in runs and (0, 6) not in runs and (1, 6) not in runs  # three pieces; five atoms
    assert segmentation.is_piece(origin, (0, 5)) and segmentation.is_piece(origin, (5, 6))
    assert not segmentation.is_piece(origin, (0, 1)) and not segmentation.is_piece(origin, (4, 6))
    # Further along the row: a single atom cut from a piece, and runs across the third and fourth pieces.
    origin = [0, 1, 1, 1, 2, 2]
    runs = segmentation.candidate_runs(origin)
    assert (1, 2) in runs and (2, 5) in runs and (1, 6) not in runs
    assert segmentation.is_piece(origin, (1, 4)) and not segmentation.is_piece(origin, (2, 4))


def test_the_best_reading_has_the_highest_total_and_skips_unreadable_runs():
    runs = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    # (0,2)+(2,3) = -0.3; (0,1)+(1,2)+(2,3) = -0.6; (0,1)+(1,3) unreadable.
    assert segmentation.best_reading(3, runs, [-0.2, -0.2, -0.3, None, -0.1]) == [1, 4]
    # A tie goes to the fewer digits, found first or last; between as many, to the one found first.
    assert segmentation.best_reading(2, [(0, 1), (0, 2), (1, 2)], [-0.1, -0.2, -0.1]) == [1]
    runs = [(0, 1), (0, 3), (1, 2), (2, 4), (3, 4)]  # (0,1)+(1,2)+(2,4) and (0,3)+(3,4), each -0.75
    assert segmentation.best_reading(4, runs, [-0.25, -0.5, -0.25, -0.25, -0.25]) == [1, 4]
    runs = [(0, 1), (0, 2), (1, 3), (2, 3)]  # (0,1)+(1,3) and (0,2)+(2,3), each -0.75
    assert segmentation.best_reading(3, runs, [-0.25, -0.5, -0.5, -0.25]) == [0, 2]
    # The runs in any order.
    assert segmentation.best_reading(2, [(1, 2), (0, 1)], [-0.1, -0.1]) == [1, 0]
    with pytest.raises(ValueError, match=r"^no reading of the row covers every atom$"):
        segmentation.best_reading(2, [(0, 1)], [-0.1])


def test_a_digit_is_the_less_plausible_the_wider_it_is_written_than_its_kind():
    assert segmentation.width_log_share(0.5, 3) == 0.0  # narrower than half of MNIST's 3s
    assert segmentation.width_log_share(1.0, 3) == pytest.approx(np.log(0.2))  # as wide as a tenth of them
    assert segmentation.width_log_share(1.43, 3) == pytest.approx(np.log(0.002))
    assert segmentation.width_log_share(1.66, 3) < np.log(0.0002)  # two 3s that meet
    # Beyond a thousandth, on along the last step: 0.18 wider again, a tenth as often.
    assert segmentation.width_log_share(1.61, 3) == pytest.approx(np.log(0.0002))
    assert segmentation.width_log_share(1.66, 2) > np.log(0.02)  # a wide 2 is no rarity
    probabilities = np.array([[0.9, 0.1] + [0.0] * 8, [0.0, 0.0, 0.5, 0.5] + [0.0] * 6])
    both = segmentation.plausibility([probabilities, probabilities], np.array([0.5, 0.5]))
    assert both == pytest.approx(np.log([0.9, 0.5]))


@pytest.mark.heavy  # every training digit's box
def test_the_widths_digits_are_written_at_are_what_mnist_holds(mnist_mirror):
    images = read_mnist(mnist_mirror, "train-images-idx3-ubyte")
    labels = read_mnist(mnist_mirror, "train-labels-idx1-ubyte")
    ink = images > 40
    rows, columns = ink.any(axis=2), ink.any(axis=1)
    heights = 28 - rows[:, ::-1].argmax(axis=1) - rows.argmax(axis=1)
    widths = 28 - columns[:, ::-1].argmax(axis=1) - columns.argmax(axis=1)
    quantiles = [100 * (1 - share) for share in segmentation.WIDE_SHARES]
    for digit, aspects in segmentation.WIDE_ASPECTS.items():
        measured = np.percentile((widths / heights)[labels == digit], quantiles)
        assert measured == pytest.approx(aspects, abs=0.005), (digit, measured)


def ring_model(template: np.ndarray):
    """A stand-in for the models: a model that knows only the digit 0, drawn as this one ring, and is as sure of a
    digit as it looks like the ring (correlation)."""
    def plausibility(digits: np.ndarray, aspects: np.ndarray) -> np.ndarray:
        likeness = np.array([np.corrcoef(digit.ravel(), template.ravel())[0, 1] for digit in digits.astype(float)])
        zero = np.clip(likeness, 0.2, 0.99)
        rows = np.column_stack([zero, *[(1 - zero) / 9] * 9])
        return segmentation.plausibility([rows], aspects)
    return plausibility


def picture(mask: np.ndarray) -> np.ndarray:
    return np.pad(np.where(mask, 0, 255).astype(np.uint8), 40, constant_values=255)


@pytest.fixture(scope="module")
def ring():
    return imaging.to_mnist(picture(rings([60], size=(100, 120))))


def test_digits_that_meet_are_read_apart_where_the_models_are_surer_of_them_so(ring):
    for centres, size in (([60, 128], (100, 200)), ([40, 108, 176], (100, 220))):
        meeting = picture(bridged(centres, size))
        (whole,) = imaging.to_mnist_digits(meeting)  # one piece of ink: one digit, without the models
        assert np.corrcoef(whole.ravel(), ring.ravel())[0, 1] < 0.3
        digits, outlines, _ = imaging.read_number(meeting, ring_model(ring))
        assert len(digits) == len(centres) and not any(outline.as_written for outline in outlines)
        # Each a ring, with a stub of the bar that joined it to the next.
        assert all(np.corrcoef(digit.ravel(), ring.ravel())[0, 1] > 0.5 for digit in digits)


def test_a_cut_or_a_join_must_make_the_models_clearly_surer(ring):
    meeting = picture(bridged([60, 128], (100, 200)))
    # Models equally sure of any reading keep the pieces as written, cut or not.
    def indifferent(digits, aspects):
        return np.full(len(digits), np.log(0.9))
    assert len(imaging.read_number(meeting, indifferent)[0]) == 1
    apart = picture(rings([40, 120], size=(100, 170)))
    assert len(imaging.read_number(apart, indifferent)[0]) == 2
    # Nor does a small gain: two halves each a little surer than the whole.
    def halves_a_little_surer(digits, aspects):
        return np.where(aspects > 1.5, np.log(0.5), np.log(0.9))
    assert len(imaging.read_number(meeting, halves_a_little_surer)[0]) == 1
