"""Logistic regression: a scikit-learn pipeline from (n, 784) raw pixels to a digit, on the standardised pixels
(a linear model) or on random Fourier features of the digit's leading principal components, which approximate an
RBF kernel (a nonlinear one, still fit as a logistic regression)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import warnings
from typing import Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_approximation import RBFSampler
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mnist_pipeline.deskew import Deskew
from mnist_pipeline.params import ParamsError, bounded
from mnist_pipeline.scaling import ChunkedStandardScaler
from mnist_pipeline.temperature import fit_temperature

log = logging.getLogger(__name__)

# The kernel's width is given for pixels scaled to 0-1; the pipeline's steps see them as 0-255.
PIXEL_SCALE = 255.0


@dataclasses.dataclass(frozen=True)
class TrainLogregParams:
    """The ``train_logreg`` section of params.yaml."""

    deskew: bool
    features: Literal["pixels", "rbf"]
    pca: int = bounded(1, 784)                                # rbf: principal components kept
    gamma: float = bounded(0, None, low_open=True)            # rbf: exp(-gamma |x - y|^2), pixels scaled to 0-1
    components: int = bounded(1, 100_000)                     # rbf: random Fourier features
    C: float = bounded(0, None, low_open=True)
    max_iter: int = bounded(1, 100_000)
    tol: float = bounded(0, 1, low_open=True)
    solver: Literal["lbfgs", "newton-cg", "sag", "saga"]
    seed: int = bounded(0, 2**32 - 1)


def build_logreg(params: TrainLogregParams) -> Pipeline:
    """Deskew (optional); then either standardise each pixel (``features: pixels``), or project the pixels on
    their ``pca`` principal components and map those to ``components`` random Fourier features (``rbf``:
    scikit-learn's ``RBFSampler``, whose features' dot products approximate the kernel ``exp(-gamma |x - y|^2)``);
    then a multinomial logistic regression.

    All preprocessing lives inside the pipeline, so the saved model takes raw 0-255 pixels.
    """
    steps = [("deskew", Deskew())] if params.deskew else []
    if params.features == "rbf":
        steps += [
            # covariance_eigh: the 784 x 784 covariance's eigenvectors, the same solver whatever the digits'
            # number (the "auto" choice changes with it).
            ("reduce", PCA(n_components=params.pca, svd_solver="covariance_eigh")),
            ("features", RBFSampler(gamma=params.gamma / PIXEL_SCALE**2, n_components=params.components,
                                    random_state=params.seed)),
        ]
    else:
        steps += [("scale", ChunkedStandardScaler())]
    steps += [("classify", LogisticRegression(C=params.C, max_iter=params.max_iter, tol=params.tol,
                                              solver=params.solver, random_state=params.seed))]
    return Pipeline(steps)


def train_logreg(x_train: np.ndarray, y_train: np.ndarray, params: TrainLogregParams) -> Pipeline:
    """Fit the pipeline on (n, 784) raw pixels; a solver that stops before converging is logged, not hidden.

    Raises:
        ParamsError: ``features: rbf`` asks for more principal components than there are training digits.
    """
    if params.features == "rbf" and params.pca > len(x_train):
        raise ParamsError(f"train_logreg.pca = {params.pca} asks for more principal components than the "
                          f"{len(x_train)} training digits give: lower it, or raise preprocess.train_limit")
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
