"""The figures render to PNG, and the helpers pick the samples they show deterministically."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mnist_pipeline import figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_saves_as_png(figure, path):
    assert isinstance(figure, Figure)
    figure.savefig(path, dpi=30)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 100


def axes_titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes if ax.get_title()]


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)


def test_sample_predictions(tmp_path, images):
    actual, predicted = np.array([1, 2, 3, 4]), np.array([1, 2, 5, 4])
    figure = figures.sample_predictions(images, actual, predicted, np.array([0.9, 0.5, 0.75, 1.0]), "nn")
    assert_saves_as_png(figure, tmp_path / "samples.png")
    assert figure.get_suptitle() == "nn: sample test predictions"
    assert axes_titles(figure) == ["1 (90%)", "2 (50%)", "5 (75%)", "4 (100%)"]
    colors = [ax.title.get_color() for ax in figure.axes if ax.get_title()]
    assert colors == [figures.CORRECT, figures.CORRECT, figures.WRONG, figures.CORRECT]


def test_sample_predictions_wraps_into_rows_of_ten(tmp_path):
    n = 23
    figure = figures.sample_predictions(np.zeros((n, 28, 28), dtype=np.uint8), np.zeros(n, int), np.zeros(n, int),
                                        np.ones(n), "logreg")
    assert len(figure.axes) == 30  # 3 rows of 10, the last 7 left blank
    assert len(axes_titles(figure)) == n
    assert_saves_as_png(figure, tmp_path / "many.png")


def test_misclassified_gallery(tmp_path, images):
    figure = figures.misclassified_gallery(images[:2], np.array([3, 8]), np.array([5, 0]), np.array([0.97, 0.6]),
                                           "logreg", total_errors=57)
    assert_saves_as_png(figure, tmp_path / "misclassified.png")
    assert axes_titles(figure) == ["3→5 (97%)", "8→0 (60%)"]
    assert "2 of 57 misclassified" in figure.get_suptitle()


def test_misclassified_gallery_with_no_errors(tmp_path):
    empty = np.zeros(0, dtype=int)
    figure = figures.misclassified_gallery(np.zeros((0, 28, 28), np.uint8), empty, empty, np.zeros(0), "nn", 0)
    assert_saves_as_png(figure, tmp_path / "none.png")
    assert "0 of 0 misclassified" in figure.get_suptitle()


def test_confusion_heatmap(tmp_path):
    matrix = np.diag(np.arange(10) * 100)
    matrix[3, 5] = 7
    figure = figures.confusion_heatmap(matrix, "nn")
    assert_saves_as_png(figure, tmp_path / "confusion.png")
    ax = figure.axes[0]
    assert ax.get_title() == f"nn: confusion matrix ({matrix.trace()} of {matrix.sum()} correct)"
    # One label per non-zero cell (digit 0's diagonal is zero here).
    assert sorted(text.get_text() for text in ax.texts) == sorted(str(c) for c in matrix[matrix > 0])
    assert len(figure.axes) == 2  # the heatmap and its colour bar


def test_confusion_heatmap_of_an_empty_matrix(tmp_path):
    assert_saves_as_png(figures.confusion_heatmap(np.zeros((10, 10), dtype=int), "nn"), tmp_path / "empty.png")


def test_training_curves(tmp_path):
    history = {"train/loss": np.array([1.0, 0.5, 0.3]), "eval/loss": np.array([1.1, 0.6, 0.5]),
               "train/accuracy": np.array([0.6, 0.8, 0.9]), "eval/accuracy": np.array([0.55, 0.75, 0.85])}
    figure = figures.training_curves(history, "nn")
    assert_saves_as_png(figure, tmp_path / "curves.png")
    loss_ax, accuracy_ax = figure.axes
    assert loss_ax.get_title() == "nn: loss" and accuracy_ax.get_title() == "nn: accuracy"
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])  # epochs count from 1
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), history["eval/loss"])
    np.testing.assert_array_equal(accuracy_ax.lines[0].get_ydata(), history["train/accuracy"])
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["training", "validation"]


def test_training_curves_without_validation(tmp_path):
    figure = figures.training_curves({"train/loss": np.array([1.0]), "train/accuracy": np.array([0.5])}, "nn")
    assert_saves_as_png(figure, tmp_path / "train_only.png")
    assert [len(ax.lines) for ax in figure.axes] == [1, 1]


def test_pick_samples_is_deterministic_distinct_and_sorted():
    first = figures.pick_samples(1000, 30, seed=0)
    np.testing.assert_array_equal(first, figures.pick_samples(1000, 30, seed=0))
    assert len(first) == len(set(first.tolist())) == 30
    assert np.all(np.diff(first) > 0)
    assert first.min() >= 0 and first.max() < 1000


def test_pick_samples_depends_on_the_seed():
    assert not np.array_equal(figures.pick_samples(1000, 30, seed=0), figures.pick_samples(1000, 30, seed=1))


def test_pick_samples_never_asks_for_more_than_there_is():
    np.testing.assert_array_equal(figures.pick_samples(5, 30, seed=0), np.arange(5))


def test_most_confident_errors_orders_by_confidence():
    actual = np.array([0, 1, 2, 3, 4, 5, 6])
    predicted = np.array([0, 7, 2, 8, 9, 5, 1])  # wrong at 1, 3, 4, 6
    confidence = np.array([0.99, 0.4, 0.98, 0.9, 0.6, 0.97, 0.9])
    np.testing.assert_array_equal(figures.most_confident_errors(actual, predicted, confidence, 10), [3, 6, 4, 1])
    np.testing.assert_array_equal(figures.most_confident_errors(actual, predicted, confidence, 2), [3, 6])


def test_most_confident_errors_with_none_wrong():
    y = np.arange(5)
    assert figures.most_confident_errors(y, y, np.ones(5), 3).size == 0


def test_reliability_diagram(tmp_path):
    columns = ["confidence", "accuracy", "count"]
    tables = {"logreg": pd.DataFrame([[0.55, 0.6, 10], [0.95, 0.97, 90]], columns=columns),
              "nn": pd.DataFrame([[0.9, 0.99, 100]], columns=columns)}
    figure = figures.reliability_diagram(tables, {"logreg": 0.027, "nn": 0.09})
    assert_saves_as_png(figure, tmp_path / "reliability.png")
    logreg_ax, nn_ax = figure.axes
    assert logreg_ax.get_title() == "logreg: ECE 0.0270" and nn_ax.get_title() == "nn: ECE 0.0900"
    diagonal, curve = logreg_ax.lines
    np.testing.assert_array_equal(diagonal.get_xydata(), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(curve.get_xydata(), tables["logreg"][["confidence", "accuracy"]])
