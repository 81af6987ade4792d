"""Sure or not: each model's answer for a digit, and its two likeliest digits.

A digit's reading is sure when every model that reads it gives the same digit, each with a probability at least its
own sure threshold, which ``evaluate`` chose on the validation digits (``sure_threshold`` in ``reports/metrics.json``,
:mod:`mnist_pipeline.sureness`). The models are judged together, one model under its threshold making every model's
answer not sure: a picture unlike MNIST's digits can leave one model sure and wrong where the other doubts it. The
probabilities are calibrated, so a threshold of 0.95 means what it says, of digits like MNIST's: a shape no MNIST
digit has (a face, a filled blob) is not sure however confident the models are (:func:`shape_doubts`), nor is ink on
paper shaded as a photo's is (:func:`paper_doubts`). Otherwise the answer is "not sure", and says why. A model whose
threshold is not at hand (a folder of models without the project's metrics) is judged by agreement alone, and alone
it is neither sure nor unsure (``sure`` is None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from mnist_pipeline.app.imaging import DIGIT_BOX, count_holes
from mnist_pipeline.app.segmentation import WIDE_SHARES, Outline, width_log_share
from mnist_pipeline.errors import ArtifactError

# What an MNIST digit's ink never looks like, in its 28x28 frame. Each is reached by at most about a thousandth of
# MNIST's 60,000 training digits (tests/test_verdicts.py checks them against MNIST) and by none or almost none of the
# benchmark's digit pictures (seeds 1 and 2, 2,600 pictures), where a face photographed, a filled shape or a texture
# reach them often:
# - the ink (pixels over INK_LEVEL) covering more than FULLEST_FILL of the 20x20 box a digit is scaled into
#   (imaging.DIGIT_BOX);
FULLEST_FILL = 0.68
INK_LEVEL = 25
# - holes in the ink (pixels over HOLE_INK_LEVEL): more than MOST_HOLES of HOLE_AREA pixels or more, where an 8 has
#   two (smaller holes are gaps in a stroke).
MOST_HOLES = 2
HOLE_INK_LEVEL = 64
HOLE_AREA = 3
# - a blot: the same ink, deeper than BLOT_DEPTH pixels from its edge somewhere (a stroke over 8 pixels broad, which
#   a hundredth of MNIST's digits reach), enclosing BLOT_HOLES holes or more of any size: a face's bright skin
#   around its eyes and mouth.
BLOT_DEPTH = 4
BLOT_HOLES = 2
# - a grey fill: ink covering more than GREY_FILL of the box, more than GREY_SHARE of it under GREY_LEVEL. A pen's
#   stroke is dark through its core and grey only along its edges, so ink that covers much of the box, being broad,
#   is mostly dark; a photographed face's skin is shades of grey throughout. Rarer in MNIST than the others: 1 of
#   its 60,000 training digits (ink covering over GREY_FILL of the box: 2.3% of them; over GREY_SHARE grey: 20%).
#   Blur spreads grey too: 1 of the benchmark's 2,600 digit pictures (seeds 1 and 2), a low-resolution digit
#   enlarged smoothly, and 11 of the 600 faces of seeds 1 to 6 that both models read as a sure 8 before.
GREY_FILL = 0.55
GREY_LEVEL = 200
GREY_SHARE = 0.5
# The paper around a digit's ink holding more than this share of the digit's ink (imaging.paper_shade): a photo's
# shading, not paper. Measured on the benchmark's pictures (seeds 1 and 2): 99% of 3,197 digit pictures under 0.1,
# and 4 over 0.15, all of other writers' 8x8 scans enlarged smoothly (their blur spreads the ink); faces and crops of
# scenes that a model answered surely (seeds 0 to 3): 63 of 83 over it. Not sure rather than no digit: those few
# scans are still read.
MOST_PAPER_SHADE = 0.15


class Models(dict):
    """Model name -> loaded model, with each model's sure threshold in :attr:`thresholds` (None where unknown)."""

    def __init__(self, models: Mapping[str, Any], thresholds: Mapping[str, float | None] | None = None):
        super().__init__(models)
        self.thresholds = {name: (thresholds or {}).get(name) for name in models}


def thresholds_of(models: Mapping[str, Any]) -> dict[str, float | None]:
    """The sure thresholds of ``models`` (a :class:`Models`); None for each where a plain mapping is given."""
    return dict(getattr(models, "thresholds", {name: None for name in models}))


def read_thresholds(text: str, source: str, names) -> dict[str, float | None]:
    """Each model's ``sure_threshold`` from the text of a ``reports/metrics.json``; None for a model it lacks.

    Raises:
        ArtifactError: naming ``source``, if the text is not such a file.
    """
    try:
        metrics = json.loads(text)
        found = {name: metrics.get(name, {}).get("sure_threshold") for name in names}
        if not all(value is None or isinstance(value, int | float) for value in found.values()):
            raise ValueError("a sure_threshold that is not a number")
    except (ValueError, AttributeError) as error:
        raise ArtifactError(f"{source} is not the pipeline's metrics ({error}); rebuild it with "
                            f"`dvc repro --force evaluate`") from None
    return {name: None if value is None else float(value) for name, value in found.items()}


def judge(probabilities: Mapping[str, np.ndarray], thresholds: Mapping[str, float | None],
          outlines: Sequence[Outline] | None = None, digits: np.ndarray | None = None,
          papers: Sequence[float] | None = None, apart: Sequence[int] | None = None) -> dict[str, list[dict]]:
    """Each model's answers for the same n digits: ``{"digit", "probability", "sure", "candidates"}`` per digit,
    ``candidates`` the two likeliest digits with their probabilities, and ``why`` where ``sure`` is False.

    A digit is sure for every model or for none: where the models agree, each at or above its own threshold, and
    nothing below doubts it. A lone model without a threshold is neither (``sure`` None).

    Args:
        probabilities: model name -> its (n, 10) probabilities, every model for the same digits.
        thresholds: model name -> its sure threshold, or None where unknown.
        outlines: for a number's digits, how each was outlined (:func:`mnist_pipeline.app.imaging.read_number`).
            A digit the reading cut or joined, or one written wider than a thousandth of MNIST's examples of the
            digit read (two digits that touch, read as one), is not sure: the models are often sure of either.
        digits: the (n, 28, 28) digits read: one of a shape no MNIST digit has (:func:`shape_doubts`) is not sure.
        papers: for each digit, how shaded the paper around it is in its picture
            (:func:`mnist_pipeline.app.imaging.paper_shade`): over :data:`MOST_PAPER_SHADE`, not sure.
        apart: for each digit read alone, how many marks as tall as a digit its picture holds apart from it
            (:func:`mnist_pipeline.app.imaging.marks_set_apart`): any, not sure (a number read as one digit?).
    """
    names = list(probabilities)
    n = len(next(iter(probabilities.values())))
    # What each digit's ink and paper alone put in doubt, whatever the model.
    seen = [shape_doubts(digit) for digit in digits] if digits is not None else [[]] * n
    if papers is not None:
        seen = [doubts + paper_doubts(paper) for doubts, paper in zip(seen, papers, strict=True)]
    if apart is not None:
        seen = [doubts + apart_doubts(marks) for doubts, marks in zip(seen, apart, strict=True)]
    # What the models put in doubt, for every model's answer: the reading is judged as one.
    shared: list[list[str]] = [[] for _ in range(n)]
    for name in names:
        if (threshold := thresholds.get(name)) is not None:
            for doubts, top in zip(shared, probabilities[name].max(axis=1), strict=True):
                if top < threshold:
                    doubts.append(f"{name} gives it {top:.3f}, under its sure threshold {threshold:.3f}")
    predicted = np.stack([probabilities[name].argmax(axis=1) for name in names])
    for doubts, agreed in zip(shared, (predicted == predicted[0]).all(axis=0), strict=True):
        if not agreed:
            doubts.append("the models disagree")
    answers = {}
    for name in names:
        rows = probabilities[name]
        likeliest = np.argsort(-rows, axis=1, kind="stable")[:, :2]
        answers[name] = []
        for i, (row, top) in enumerate(zip(rows, likeliest, strict=True)):
            reasons = list(shared[i])
            if outlines is not None:
                reasons += _outline_doubts(outlines[i], int(top[0]))
            reasons += seen[i]
            answer = {"digit": int(top[0]), "probability": float(row[top[0]]),
                      "sure": None if thresholds.get(name) is None and len(names) == 1 else not reasons,
                      "candidates": [{"digit": int(d), "probability": float(row[d])} for d in top]}
            if reasons:
                answer["why"] = "; ".join(reasons)
            answers[name].append(answer)
    return answers


def shape_doubts(digit: np.ndarray) -> list[str]:
    """Why a (28, 28) digit is in doubt from its ink alone: a shape no MNIST digit has (see :data:`FULLEST_FILL`,
    :data:`GREY_FILL`, :data:`MOST_HOLES` and :data:`BLOT_DEPTH`)."""
    doubts = []
    inked = digit > INK_LEVEL
    fill = np.count_nonzero(inked) / DIGIT_BOX ** 2
    grey = np.count_nonzero(inked & (digit < GREY_LEVEL)) / np.count_nonzero(inked) if fill > GREY_FILL else 0.0
    if fill > FULLEST_FILL:
        doubts.append(f"its ink fills {fill:.0%} of its box, as no written digit does (a filled shape or a photo?)")
    elif grey > GREY_SHARE:
        doubts.append(f"its ink fills {fill:.0%} of its box in shades of grey ({grey:.0%} of it light), where a pen's "
                      f"broad stroke is dark (a photo of a face?)")
    ink = digit > HOLE_INK_LEVEL
    holes = count_holes(ink, HOLE_AREA)
    if holes > MOST_HOLES:
        doubts.append(f"its ink encloses {holes} holes, where a digit has at most {MOST_HOLES} (a face or a texture?)")
    elif (depth := ndimage.distance_transform_edt(ink).max()) > BLOT_DEPTH and count_holes(ink) >= BLOT_HOLES:
        doubts.append(f"its ink is a blot {2 * depth:.0f} pixels broad with holes in it, broader than a pen draws "
                      f"(a face?)")
    return doubts


def paper_doubts(paper: float) -> list[str]:
    """Why a digit is in doubt from the paper around it in its picture (see :data:`MOST_PAPER_SHADE`)."""
    if paper > MOST_PAPER_SHADE:
        return [f"the paper around its ink is shaded ({paper:.0%} of the ink's darkness), where a digit's paper is "
                f"bare (a photo of a face or a scene?)"]
    return []


def apart_doubts(marks: int) -> list[str]:
    """Why a digit read alone is in doubt from the marks beside it (see :func:`judge`)."""
    if marks:
        return [f"{marks} more mark{'s' if marks > 1 else ''} as tall as a digit stand{'' if marks > 1 else 's'} "
                f"apart from it, left out (a number? read it as one with --number)"]
    return []


def _outline_doubts(outline: Outline, digit: int) -> list[str]:
    """Why a digit of a number is in doubt from its outline alone (see :func:`judge`)."""
    if not outline.as_written:
        return ["its outline was guessed where digits touch"]
    if width_log_share(outline.aspect, digit) < np.log(WIDE_SHARES[-1] / WIDE_SHARES[0]):
        return [f"it is written wider than a {digit} is (digits that touch?)"]
    return []


def as_number(digits: list[dict]) -> dict[str, Any]:
    """A number's reading from its digits' answers (:func:`judge`), left to right: ``number`` (the digits as a
    string), ``sure`` (False if any digit is unsure, else None if any is neither, else True) and ``digits``."""
    sure = [digit["sure"] for digit in digits]
    return {"number": "".join(str(digit["digit"]) for digit in digits),
            "sure": False if False in sure else (None if None in sure else True), "digits": digits}


def unsure_note(answer: dict) -> str:
    """The words a table shows beside an answer: "" for a sure one, else ``not sure: 9 or 5 (0.31)``."""
    if answer["sure"] is not False:
        return ""
    second = answer["candidates"][1]
    return f"not sure: {answer['digit']} or {second['digit']} ({second['probability']:.2f})"
