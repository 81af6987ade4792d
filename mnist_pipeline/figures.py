"""The pipeline's figures, built as matplotlib ``Figure`` objects (no pyplot state, no files)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnist_pipeline.digits import N_CLASSES
from mnist_pipeline.params import bounded

CORRECT, WRONG = "#1a7f37", "#cf222e"
# PNG text chunks for ``savefig``: none. Matplotlib would stamp its version, which says nothing about the figure.
PNG_METADATA = {"Software": None}


@dataclasses.dataclass(frozen=True)
class VisualizeParams:
    """The ``visualize`` section of params.yaml."""

    n_samples: int = bounded(1, 400)
    n_misclassified: int = bounded(1, 400)
    dpi: int = bounded(50, 600)
    seed: int = bounded(0, 2**32 - 1)


def _grid(n: int, max_cols: int = 10) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


# An image grid's cell and the band above the grid for its title, in inches.
CELL_WIDTH, CELL_HEIGHT, TITLE_BAND = 1.3, 1.5, 0.6


def _image_grid(images: np.ndarray, titles: list[str], colors: list[str], suptitle: str) -> Figure:
    rows, cols = _grid(max(len(images), 1))
    height = CELL_HEIGHT * rows + TITLE_BAND
    # A fixed layout: each digit in the lower 80% of its cell, its title in the rest. Matplotlib's constrained
    # layout would measure every title to place digits that sit in fixed cells anyway: over half the stage's time.
    fig = Figure(figsize=(CELL_WIDTH * cols, height))
    axes = np.atleast_1d(fig.subplots(rows, cols, gridspec_kw={
        "left": 0.05 / cols, "right": 1 - 0.05 / cols, "bottom": 0.05 / height,
        "top": 1 - TITLE_BAND / height, "wspace": 0.1, "hspace": 0.25})).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, title, color in zip(axes, images, titles, colors, strict=False):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(title, fontsize=8, color=color)
    fig.suptitle(suptitle)
    return fig


def sample_predictions(images: np.ndarray, actual: np.ndarray, predicted: np.ndarray,
                       confidence: np.ndarray, model_name: str) -> Figure:
    """A grid of test digits, each titled with the prediction and its probability (red when wrong)."""
    titles = [f"{p} ({c:.0%})" for p, c in zip(predicted, confidence, strict=True)]
    colors = [CORRECT if a == p else WRONG for a, p in zip(actual, predicted, strict=True)]
    return _image_grid(images, titles, colors, f"{model_name}: sample test predictions")


def misclassified_gallery(images: np.ndarray, actual: np.ndarray, predicted: np.ndarray,
                          confidence: np.ndarray, model_name: str, total_errors: int) -> Figure:
    """Misclassified digits, each titled ``true → predicted (probability)``."""
    titles = [f"{a}→{p} ({c:.0%})" for a, p, c in zip(actual, predicted, confidence, strict=True)]
    suptitle = f"{model_name}: {len(images)} of {total_errors} misclassified test digits (true→predicted)"
    return _image_grid(images, titles, [WRONG] * len(images), suptitle)


def confusion_heatmap(matrix: np.ndarray, model_name: str) -> Figure:
    """The confusion matrix as a heatmap on a log colour scale, so rare errors stay visible."""
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    threshold = np.log1p(matrix).max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
                    color="white" if np.log1p(count) > threshold else "black")
    ax.set(xticks=range(N_CLASSES), yticks=range(N_CLASSES), xlabel="predicted", ylabel="true",
           title=f"{model_name}: confusion matrix ({matrix.trace()} of {matrix.sum()} correct)")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    return fig


def training_curves(history: dict[str, np.ndarray], model_name: str) -> Figure:
    """Loss and accuracy per epoch, training against validation.

    Args:
        history: arrays by name: ``train/loss``, ``eval/loss``, ``train/accuracy``, ``eval/accuracy``.
    """
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for split, label in (("train", "training"), ("eval", "validation")):
            values = history.get(f"{split}/{metric}")
            if values is not None:
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
        ax.set(xlabel="epoch", ylabel=metric, title=f"{model_name}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def reliability_diagram(tables: dict[str, pd.DataFrame], eces: dict[str, float]) -> Figure:
    """Accuracy against confidence per model, with the diagonal a calibrated model would follow.

    Args:
        tables: each model's reliability table (:func:`mnist_pipeline.calibration.reliability_table`).
        eces: each model's expected calibration error, for its panel's title.
    """
    fig = Figure(figsize=(5 * len(tables), 4.6), layout="constrained")
    for ax, (name, table) in zip(np.atleast_1d(fig.subplots(1, len(tables))), tables.items(), strict=True):
        confidence, accuracy, count = (table[column].to_numpy() for column in ("confidence", "accuracy", "count"))
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
        ax.plot(confidence, accuracy, marker="o", label=name)
        # Marker area shows how many digits a bin holds: most sit in the top bin.
        ax.scatter(confidence, accuracy, s=400 * count / count.sum(), alpha=0.3)
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (mean of the bin)", ylabel="accuracy",
               title=f"{name}: ECE {eces[name]:.4f}")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.suptitle("Reliability on the test set (marker area: share of digits in the bin)")
    return fig


def pick_samples(n_available: int, n: int, seed: int) -> np.ndarray:
    """``n`` distinct indices out of ``n_available``, the same for the same seed, in ascending order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_available, size=min(n, n_available), replace=False))


def most_confident_errors(actual: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                          n: int) -> np.ndarray:
    """Indices of up to ``n`` misclassified samples, the most confidently wrong first."""
    wrong = np.flatnonzero(actual != predicted)
    order = np.argsort(-confidence[wrong], kind="stable")
    return wrong[order[:n]]
