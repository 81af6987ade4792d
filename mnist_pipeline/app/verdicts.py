"""Sure or not: each model's answer for a digit, and its two likeliest digits.

An answer is sure when its probability is at least its model's sure threshold, which ``evaluate`` chose on the
validation digits (``sure_threshold`` in ``reports/metrics.json``, :mod:`mnist_pipeline.sureness`), and, where two
models read the same picture, both give the same digit. The probabilities are calibrated, so a threshold of 0.6
means what it says. Otherwise the answer is "not sure", and says why. A model whose threshold is not at hand (a
folder of models without the project's metrics) is judged by agreement alone, and alone it is neither sure nor
unsure (``sure`` is None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mnist_pipeline.app.segmentation import WIDE_SHARES, Outline, width_log_share
from mnist_pipeline.errors import ArtifactError


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
          outlines: Sequence[Outline] | None = None) -> dict[str, list[dict]]:
    """Each model's answers for the same n digits: ``{"digit", "probability", "sure", "candidates"}`` per digit,
    ``candidates`` the two likeliest digits with their probabilities, and ``why`` where ``sure`` is False.

    Args:
        probabilities: model name -> its (n, 10) probabilities, every model for the same digits.
        thresholds: model name -> its sure threshold, or None where unknown.
        outlines: for a number's digits, how each was outlined (:func:`mnist_pipeline.app.imaging.read_number`).
            A digit the reading cut or joined, or one written wider than a thousandth of MNIST's examples of the
            digit read (two digits that touch, read as one), is not sure: the models are often sure of either.
    """
    names = list(probabilities)
    predicted = {name: probabilities[name].argmax(axis=1) for name in names}
    agree = np.all([predicted[name] == predicted[names[0]] for name in names], axis=0)
    answers = {}
    for name in names:
        rows, threshold = probabilities[name], thresholds.get(name)
        likeliest = np.argsort(-rows, axis=1, kind="stable")[:, :2]
        answers[name] = []
        for row, top, agreed in zip(rows, likeliest, agree, strict=True):
            reasons = []
            if threshold is not None and row[top[0]] < threshold:
                reasons.append(f"{name} gives it {row[top[0]]:.3f}, under its sure threshold {threshold:.3f}")
            if not agreed:
                reasons.append("the models disagree")
            if outlines is not None:
                reasons += _outline_doubts(outlines[len(answers[name])], int(top[0]))
            answer = {"digit": int(top[0]), "probability": float(row[top[0]]),
                      "sure": None if threshold is None and len(names) == 1 else not reasons,
                      "candidates": [{"digit": int(d), "probability": float(row[d])} for d in top]}
            if reasons:
                answer["why"] = "; ".join(reasons)
            answers[name].append(answer)
    return answers


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
