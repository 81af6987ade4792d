"""Logistic regression on raw pixels: a scikit-learn pipeline from (n, 784) bytes to a digit."""

from __future__ import annotations

import copy
import dataclasses
import logging
import warnings
from typing import Literal

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mnist_pipeline.deskew import Deskew
from mnist_pipeline.params import bounded
from mnist_pipeline.scaling import ChunkedStandardScaler
from mnist_pipeline.temperature import fit_temperature

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainLogregParams:
    """The ``train_logreg`` section of params.yaml."""

    deskew: bool
    C: float = bounded(0, None, low_open=True)
    max_iter: int = bounded(1, 100_000)
    tol: float = bounded(0, 1, low_open=True)
    solver: Literal["lbfgs", "newton-cg", "sag", "saga"]
    seed: int = bounded(0, 2**32 - 1)


def build_logreg(params: TrainLogregParams) -> Pipeline:
    """Deskew (optional), standardise each pixel, then a multinomial logistic regression.

    All preprocessing lives inside the pipeline, so the saved model takes raw 0-255 pixels.
    """
    steps = [("deskew", Deskew())] if params.deskew else []
    steps += [
        ("scale", ChunkedStandardScaler()),
        ("classify", LogisticRegression(C=params.C, max_iter=params.max_iter, tol=params.tol,
                                        solver=params.solver, random_state=params.seed)),
    ]
    return Pipeline(steps)


def train_logreg(x_train: np.ndarray, y_train: np.ndarray, params: TrainLogregParams) -> Pipeline:
    """Fit the pipeline on (n, 784) raw pixels; a solver that stops before converging is logged, not hidden."""
    model = build_logreg(params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train, y_train)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            log.warning("%s (raise train_logreg.max_iter or tol)", str(warning.message).splitlines()[0])
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    log.info("logistic regression stopped after %d iterations", int(model[-1].n_iter_.max()))
    return model


def calibrate_logreg(model: Pipeline, x_val: np.ndarray, y_val: np.ndarray) -> tuple[Pipeline, float]:
    """``model`` temperature-scaled on the validation digits (:mod:`mnist_pipeline.temperature`), and the
    temperature.

    The result is a copy whose classifier has its coefficients and intercepts divided by the temperature: the
    same kind of pipeline, the same predicted digits, probabilities ``softmax(scores / T)``.
    """
    temperature = fit_temperature(model.decision_function(x_val), y_val)
    calibrated = copy.deepcopy(model)
    calibrated[-1].coef_ = model[-1].coef_ / temperature
    calibrated[-1].intercept_ = model[-1].intercept_ / temperature
    return calibrated, temperature
