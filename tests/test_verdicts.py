"""Sure or not, by hand: thresholds, agreement, the two candidates and the words shown."""

import json

import numpy as np
import pytest
from mnist_for_tests import read_mnist
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_pipeline.app import imaging, verdicts
from mnist_pipeline.app.segmentation import Outline
from mnist_pipeline.app.verdicts import Models, as_number, judge, read_thresholds, thresholds_of, unsure_note
from mnist_pipeline.errors import ArtifactError


def rows(*tops: tuple[int, float, int, float]) -> np.ndarray:
    """Probabilities with ``p`` on ``digit``, ``q`` on ``second`` and the rest spread over the other eight."""
    out = np.zeros((len(tops), 10))
    for i, (digit, p, second, q) in enumerate(tops):
        out[i] = (1 - p - q) / 8
        out[i, digit], out[i, second] = p, q
    return out


def test_an_answer_at_or_above_its_threshold_is_sure_and_one_below_says_why():
    answers = judge({"nn": rows((3, 0.9, 8, 0.05), (9, 0.52, 5, 0.31), (1, 0.6, 7, 0.3))}, {"nn": 0.6})["nn"]
    assert [a["sure"] for a in answers] == [True, False, True]
    assert answers[1] == {"digit": 9, "probability": 0.52, "sure": False,
                          "candidates": [{"digit": 9, "probability": 0.52}, {"digit": 5, "probability": 0.31}],
                          "why": "nn gives it 0.520, under its sure threshold 0.600"}
    assert "why" not in answers[0] and answers[0]["candidates"][1] == {"digit": 8, "probability": 0.05}


def test_two_models_that_disagree_are_both_unsure_however_confident():
    answers = judge({"logreg": rows((4, 0.99, 9, 0.005), (7, 0.99, 1, 0.005)),
                     "nn": rows((9, 0.97, 4, 0.02), (7, 0.98, 1, 0.01))}, {"logreg": 0.975, "nn": 0.6})
    assert [a["sure"] for a in answers["logreg"]] == [False, True]
    assert [a["sure"] for a in answers["nn"]] == [False, True]
    assert answers["nn"][0]["why"] == "the models disagree"
    unsure_and_apart = judge({"logreg": rows((4, 0.5, 9, 0.4)), "nn": rows((9, 0.97, 4, 0.02))},
                             {"logreg": 0.975, "nn": 0.6})
    assert unsure_and_apart["logreg"][0]["why"] == ("logreg gives it 0.500, under its sure threshold 0.975; "
                                                    "the models disagree")


def test_one_model_under_its_threshold_makes_every_models_answer_unsure():
    answers = judge({"logreg": rows((4, 0.9, 9, 0.05), (7, 0.99, 1, 0.005)),
                     "nn": rows((4, 0.999, 9, 0.0005), (7, 0.98, 1, 0.01))}, {"logreg": 0.975, "nn": 0.95})
    assert [a["sure"] for a in answers["logreg"]] == [False, True]
    assert [a["sure"] for a in answers["nn"]] == [False, True]  # nn's 0.999 is sure alone, not with logreg's doubt
    doubt = "logreg gives it 0.900, under its sure threshold 0.975"
    assert answers["nn"][0]["why"] == answers["logreg"][0]["why"] == doubt
    both_under = judge({"logreg": rows((4, 0.9, 9, 0.05)), "nn": rows((4, 0.8, 9, 0.1))}, {"logreg": 0.975, "nn": 0.95})
    assert both_under["nn"][0]["why"] == ("logreg gives it 0.900, under its sure threshold 0.975; "
                                          "nn gives it 0.800, under its sure threshold 0.950")


def test_without_a_threshold_only_agreement_can_make_an_answer_unsure():
    alone = judge({"nn": rows((3, 0.3, 8, 0.2))}, {"nn": None})["nn"][0]
    assert alone["sure"] is None and "why" not in alone
    both = judge({"logreg": rows((3, 0.3, 8, 0.2)), "nn": rows((8, 0.9, 3, 0.05))}, {})
    assert both["logreg"][0]["sure"] is False and both["nn"][0]["why"] == "the models disagree"
    agreeing = judge({"logreg": rows((3, 0.3, 8, 0.2)), "nn": rows((3, 0.9, 8, 0.05))}, {})
    assert agreeing["logreg"][0]["sure"] is True


def test_a_digit_whose_outline_is_guessed_or_too_wide_for_its_kind_is_unsure_however_confident():
    outlines = [Outline(0.7, as_written=True), Outline(0.7, as_written=False), Outline(1.66, as_written=True),
                Outline(1.66, as_written=True)]
    answers = judge({"nn": rows((3, 0.99, 8, 0.005), (3, 0.99, 8, 0.005), (3, 0.99, 8, 0.005),
                                (2, 0.99, 3, 0.005))}, {"nn": 0.6}, outlines)["nn"]
    assert [a["sure"] for a in answers] == [True, False, False, True]  # a 2 is written 1.66 wide (1 in 100)
    assert answers[1]["why"] == "its outline was guessed where digits touch"
    assert answers[2]["why"] == "it is written wider than a 3 is (digits that touch?)"
    assert as_number(answers)["sure"] is False


def test_a_digit_is_doubted_only_wider_than_a_thousandth_of_its_kind_and_with_every_other_doubt():
    # 3s: a hundredth of MNIST's reach 1.25 wide, a thousandth 1.43 (segmentation.WIDE_ASPECTS).
    def why(aspect: float, probability: float = 0.99, as_written: bool = True) -> str | None:
        outline = Outline(aspect, as_written=as_written)
        return judge({"nn": rows((3, probability, 8, 0.005))}, {"nn": 0.6}, [outline])["nn"][0].get("why")

    assert why(1.34) is None and why(1.43) is None
    assert why(1.5) == "it is written wider than a 3 is (digits that touch?)"
    assert why(0.7, probability=0.5, as_written=False) == ("nn gives it 0.500, under its sure threshold 0.600; "
                                                           "its outline was guessed where digits touch")


def test_papers_and_marks_apart_are_one_for_each_digit():
    with pytest.raises(ValueError, match="zip"):
        judge({"nn": rows(*[(8, 0.99, 3, 0.005)] * 2)}, {"nn": 0.6}, papers=[0.0])
    with pytest.raises(ValueError, match="zip"):
        judge({"nn": rows(*[(8, 0.99, 3, 0.005)] * 2)}, {"nn": 0.6}, apart=[0])


def test_the_note_beside_an_answer():
    sure, unsure = judge({"nn": rows((3, 0.9, 8, 0.05), (9, 0.52, 5, 0.31))}, {"nn": 0.6})["nn"]
    assert unsure_note(sure) == ""
    assert unsure_note(unsure) == "not sure: 9 or 5 (0.31)"


def test_thresholds_come_from_the_metrics_and_travel_with_the_models():
    text = json.dumps({"logreg": {"accuracy": 0.95, "sure_threshold": 0.975}, "nn": {"accuracy": 0.99}})
    thresholds = read_thresholds(text, "metrics.json", ["logreg", "nn"])
    assert thresholds == {"logreg": 0.975, "nn": None}
    models = Models({"logreg": object()}, thresholds)
    assert thresholds_of(models) == {"logreg": 0.975}  # only the models loaded
    assert thresholds_of({"nn": object()}) == {"nn": None}  # a plain mapping knows none


def test_a_model_the_metrics_lack_has_no_threshold():
    text = json.dumps({"logreg": {"sure_threshold": 0.975}})
    assert read_thresholds(text, "m.json", ["logreg", "nn"]) == {"logreg": 0.975, "nn": None}


def test_a_threshold_that_is_not_a_number_is_named_so():
    with pytest.raises(ArtifactError) as raised:
        read_thresholds(json.dumps({"nn": {"sure_threshold": "high"}}), "m.json", ["nn"])
    assert str(raised.value) == ("m.json is not the pipeline's metrics (a sure_threshold that is not a number); "
                                 "rebuild it with `dvc repro --force evaluate`")


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])  # a threshold that is no number: the test above
def test_metrics_that_are_not_the_pipelines_are_named(text):
    with pytest.raises(ArtifactError, match=r"^m\.json is not the pipeline's metrics .*dvc repro --force evaluate"):
        read_thresholds(text, "m.json", ["nn"])


def test_a_number_is_sure_only_when_every_digit_is():
    answers = judge({"nn": rows((2, 0.9, 8, 0.05), (0, 0.99, 6, 0.005), (9, 0.52, 5, 0.31))}, {"nn": 0.6})["nn"]
    assert as_number(answers[:2]) == {"number": "20", "sure": True, "digits": answers[:2]}
    assert as_number(answers)["number"] == "209" and as_number(answers)["sure"] is False
    unknown = judge({"nn": rows((2, 0.9, 8, 0.05))}, {"nn": None})["nn"]
    assert as_number(unknown)["sure"] is None and as_number([*unknown, answers[2]])["sure"] is False


def drawn(shape: str) -> np.ndarray:
    """A (28, 28) digit drawn by hand: an 8 (two rings), a filled block, a face (a disc with eyes and a mouth), or a
    face far off (a disc with eyes of a pixel each), a bold 0 (a broad ring), a grey face (a disc of grey skin with
    a bright band, as a photo's light leaves it)."""
    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    if shape == "8":
        draw.ellipse([9, 4, 19, 13], outline=255, width=2)
        draw.ellipse([8, 13, 20, 24], outline=255, width=2)
    elif shape == "block":
        draw.rectangle([5, 4, 22, 23], fill=255)
    elif shape == "far face":
        draw.ellipse([6, 6, 21, 21], fill=230)
        draw.point([(11, 11), (16, 11)], fill=40)
    elif shape == "bold 0":
        draw.ellipse([5, 4, 22, 23], fill=255)
        draw.ellipse([12, 11, 15, 16], fill=0)
    elif shape == "grey face":
        draw.ellipse([6, 4, 21, 23], fill=150)
        draw.rectangle([6, 8, 21, 11], fill=255)
    else:
        draw.ellipse([6, 4, 21, 23], fill=230)
        for box in ([9, 9, 11, 11], [16, 9, 18, 11], [10, 17, 17, 18]):
            draw.rectangle(box, fill=40)
    return np.array(image)


def test_a_shape_no_digit_has_is_unsure_however_confident():
    eight, block, face = drawn("8"), drawn("block"), drawn("face")
    assert verdicts.shape_doubts(eight) == []
    assert verdicts.shape_doubts(block) == ["its ink fills 90% of its box, as no written digit does "
                                            "(a filled shape or a photo?)"]
    assert verdicts.shape_doubts(face) == ["its ink encloses 3 holes, where a digit has at most 2 "
                                           "(a face or a texture?)"]
    speckled = eight.copy()
    speckled[12, 9:20:2] = 0  # one-pixel gaps in a stroke are no holes
    assert verdicts.shape_doubts(speckled) == []
    # A blot: its two one-pixel holes make it a face (11 pixels of ink across between them and the edge); one hole,
    # a bold 0.
    assert verdicts.shape_doubts(drawn("far face")) == ["its ink is a blot 11 pixels broad with holes in it, broader "
                                                        "than a pen draws (a face?)"]
    assert verdicts.shape_doubts(drawn("bold 0")) == []
    # Ink as broad as a face's, in shades of grey: a photo's skin, where a pen's broad stroke is dark throughout.
    assert verdicts.shape_doubts(drawn("grey face")) == ["its ink fills 64% of its box in shades of grey (75% of it "
                                                         "light), where a pen's broad stroke is dark (a photo of a "
                                                         "face?)"]
    thin_face = drawn("far face")
    thin_face[9:14, 9:19] = 0  # the same two holes in ink nowhere over 4 pixels from its edge: no blot
    assert ndimage.distance_transform_edt(thin_face > verdicts.HOLE_INK_LEVEL).max() <= verdicts.BLOT_DEPTH
    assert verdicts.shape_doubts(thin_face) == []
    answers = judge({"nn": rows((8, 0.99, 3, 0.005), (8, 0.99, 3, 0.005), (8, 0.99, 0, 0.005))}, {"nn": 0.6},
                    digits=np.stack([eight, block, face]))["nn"]
    assert [a["sure"] for a in answers] == [True, False, False]
    assert answers[2]["why"].startswith("its ink encloses 3 holes")


def test_each_shape_doubt_starts_just_past_its_limit():
    faint = np.zeros((28, 28))
    faint[4:24, 4:19] = verdicts.INK_LEVEL  # 300 pixels at the ink level itself: no ink
    full = np.zeros((28, 28))
    full.flat[:272] = 255  # ink on 272 pixels, FULLEST_FILL (0.68) of the 20x20 box exactly
    light_face = np.zeros((28, 28))
    light_face[4:14, 4:14] = verdicts.HOLE_INK_LEVEL  # three holes of 4 pixels in ink at the hole level itself
    for row, column in ((5, 5), (5, 10), (10, 7)):
        light_face[row:row + 2, column:column + 2] = 0
    pinholes = np.zeros((28, 28))
    pinholes[4:14, 4:14] = 255  # three holes of one pixel, under HOLE_AREA
    for row, column in ((6, 6), (6, 10), (10, 8)):
        pinholes[row, column] = 0
    square_and_ring = np.zeros((28, 28))
    square_and_ring[2:9, 2:9] = 255  # 4 pixels deep at its centre, BLOT_DEPTH exactly
    square_and_ring[15:20, 15:20] = 255
    square_and_ring[16, 16] = square_and_ring[18, 18] = 0  # two holes, but in no blot
    grey_fill = np.zeros((28, 28))
    grey_fill.flat[:220] = 255  # ink on 220 pixels, GREY_FILL (0.55) of the box exactly, 111 of them grey
    grey_fill.flat[:111] = verdicts.GREY_LEVEL - 1
    grey_share = np.zeros((28, 28))
    grey_share.flat[:222] = 255  # ink on 222 pixels, half of them grey: 111 under GREY_LEVEL, one at it
    grey_share.flat[:111] = verdicts.GREY_LEVEL - 1
    grey_share.flat[111] = verdicts.GREY_LEVEL
    shapes = (faint, full, light_face, pinholes, square_and_ring, grey_fill, grey_share)
    for digit in shapes:
        assert verdicts.shape_doubts(digit) == []
    assert ndimage.distance_transform_edt(square_and_ring > verdicts.HOLE_INK_LEVEL).max() == verdicts.BLOT_DEPTH
    # One step past each limit, the doubt.
    faint[faint > 0] += 1
    full.flat[272] = 255
    light_face[light_face > 0] += 1
    pinholes[7, 6] = pinholes[7, 10] = pinholes[11, 8] = 0  # holes of two pixels each: still under HOLE_AREA
    pinholes[6, 7] = pinholes[6, 11] = pinholes[10, 9] = 0  # of three
    square_and_ring[2:11, 2:11] = 255  # 5 pixels deep
    grey_fill.flat[220] = 255
    grey_share.flat[111] -= 1
    assert [doubt.split(",")[0] for digit in shapes for doubt in verdicts.shape_doubts(digit)] == [
        "its ink fills 75% of its box", "its ink fills 68% of its box", "its ink encloses 3 holes",
        "its ink encloses 3 holes", "its ink is a blot 10 pixels broad with holes in it",
        "its ink fills 55% of its box in shades of grey (50% of it light)",
        "its ink fills 56% of its box in shades of grey (50% of it light)"]


def test_a_digit_on_shaded_paper_is_unsure_however_confident():
    answers = judge({"nn": rows(*[(8, 0.99, 3, 0.005)] * 3)}, {"nn": 0.6},
                    papers=[0.0, verdicts.MOST_PAPER_SHADE, 0.3])["nn"]
    assert [a["sure"] for a in answers] == [True, True, False]
    assert answers[2]["why"] == ("the paper around its ink is shaded (30% of the ink's darkness), where a digit's "
                                 "paper is bare (a photo of a face or a scene?)")
    # Each digit of a number is judged by its own picture's paper, with the other doubts.
    both = judge({"nn": rows((8, 0.5, 3, 0.4), (8, 0.99, 3, 0.005))}, {"nn": 0.6}, papers=[0.3, 0.3])["nn"]
    assert both[0]["why"].startswith("nn gives it 0.500, under its sure threshold 0.600; the paper around its ink")


def test_a_digit_read_alone_beside_marks_as_tall_as_a_digit_is_unsure_however_confident():
    answers = judge({"nn": rows(*[(3, 0.99, 8, 0.005)] * 3)}, {"nn": 0.6}, apart=[0, 1, 2])["nn"]
    assert [a["sure"] for a in answers] == [True, False, False]
    assert answers[1]["why"] == ("1 more mark as tall as a digit stands apart from it, left out (a number? read it as "
                                 "one with --number)")
    assert answers[2]["why"].startswith("2 more marks as tall as a digit stand apart from it")


def test_a_mark_apart_counts_when_half_as_tall_as_the_digit_and_not_part_of_it(monkeypatch):
    digit = np.zeros((100, 200), bool)
    digit[10:90, 10:50] = True  # the digit, 80 tall
    canvas = digit.copy()
    canvas[20:60, 120:128] = True  # a mark 40 tall, apart: half the digit's height
    canvas[70:89, 150:158] = True  # 19 tall: a stray mark, no speck
    assert imaging.marks_set_apart(canvas, digit) == 1
    monkeypatch.setattr(imaging, "APART_HEIGHT", 0.2)
    assert imaging.marks_set_apart(canvas, digit) == 2  # the stray mark is left out by its height alone
    monkeypatch.undo()
    canvas[20, 120:128] = False  # 39 tall: under half
    assert imaging.marks_set_apart(canvas, digit) == 0
    assert imaging.marks_set_apart(digit, digit) == 0  # the digit's own pieces are no marks apart
    # Cropped tightly, the other digit touches the frame, and counts; a margin's rule that the digit broke, a hairline
    # run down from the top or up from the bottom, does not.
    for rows, columns, counted in ((slice(20, 60), slice(188, 200), 1), (slice(0, 60), slice(120, 126), 0),
                                   (slice(50, 100), slice(120, 126), 0), (slice(0, 60), slice(120, 127), 1)):
        other = digit.copy()
        other[rows, columns] = True
        assert imaging.marks_set_apart(other, digit) == counted, (rows, columns)


def test_holes_are_the_background_the_ink_encloses_of_a_least_size():
    mask = np.zeros((12, 12), bool)
    mask[1:11, 1:11] = True
    mask[3:5, 3:5] = False  # 4 pixels
    mask[3:5, 7] = False  # 2 pixels
    mask[8, 8] = False  # 1 pixel
    assert [imaging.count_holes(mask, smallest) for smallest in (1, 2, 3, 5)] == [3, 2, 1, 0]
    mask[8, 10:] = False  # a gap to the frame: the background is no hole
    mask[8, 9] = False
    assert imaging.count_holes(mask, 1) == 2


@pytest.mark.heavy
def test_the_shapes_doubted_are_about_a_thousandth_of_mnists_training_digits_each(mnist_mirror):
    images = read_mnist(mnist_mirror, "train-images-idx3-ubyte")
    filled = np.count_nonzero(images > verdicts.INK_LEVEL, axis=(1, 2)) / 400 > verdicts.FULLEST_FILL
    ink = images > verdicts.HOLE_INK_LEVEL
    holed = np.array([imaging.count_holes(mask, verdicts.HOLE_AREA) > verdicts.MOST_HOLES for mask in ink])
    blotted = np.array([ndimage.distance_transform_edt(mask).max() > verdicts.BLOT_DEPTH
                        and imaging.count_holes(mask) >= verdicts.BLOT_HOLES for mask in ink])
    for doubt in (filled, holed, blotted):
        assert 0.0005 < doubt.mean() < 0.002, (filled.mean(), holed.mean(), blotted.mean())
    # A grey fill joins two measures that many digits reach alone, and almost none together.
    inked = images > verdicts.INK_LEVEL
    broad = np.count_nonzero(inked, axis=(1, 2)) / 400 > verdicts.GREY_FILL
    light = np.count_nonzero(inked & (images < verdicts.GREY_LEVEL), axis=(1, 2)) / inked.sum(axis=(1, 2))
    greyed = broad & (light > verdicts.GREY_SHARE)
    assert broad.mean() > 0.02 and (light > verdicts.GREY_SHARE).mean() > 0.15 and 0 < greyed.sum() <= 3
    doubted = [bool(verdicts.shape_doubts(image)) for image in images[:5000]]
    assert sum(doubted) == np.count_nonzero((filled | holed | blotted | greyed)[:5000]) > 0
