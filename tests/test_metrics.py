"""Test-set metrics against values worked out by hand, and the predictions CSV."""

import math

import numpy as np
import pytest

from mnist_pipeline.errors import ArtifactError
from mnist_pipeline.metrics import classification_metrics, per_class_table
from mnist_pipeline.predictions import confusion_matrix, predictions_csv, read_predictions


def probabilities(rows: list[dict[int, float]]) -> np.ndarray:
    """(n, 10) probabilities from sparse rows; what is left over is spread evenly on the other digits."""
    out = np.zeros((len(rows), 10))
    for i, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (10 - len(row))
        out[i] = rest
        for digit, p in row.items():
            out[i, digit] = p
    return out


# Five digits: three right (0, 1, 2 as themselves), one 1 taken for a 2, one 2 taken for a 0.
Y_TRUE = np.array([0, 1, 1, 2, 2])
PROBS = probabilities([{0: 0.9}, {1: 0.6, 2: 0.3}, {2: 0.5, 1: 0.4}, {2: 0.7}, {0: 0.55, 2: 0.25}])


def test_the_example_predicts_what_the_comment_says():
    assert PROBS.argmax(axis=1).tolist() == [0, 1, 2, 2, 0]
    np.testing.assert_allclose(PROBS.sum(axis=1), 1)


def test_accuracy_and_per_class_precision_recall_by_hand():
    metrics = classification_metrics(Y_TRUE, PROBS)
    assert metrics["accuracy"] == 0.6  # 3 of 5
    # Predicted 0 twice (one right), 1 once (right), 2 twice (one right).
    assert metrics["precision"]["0"] == 0.5
    assert metrics["precision"]["1"] == 1.0
    assert metrics["precision"]["2"] == 0.5
    # True 0 once (found), 1 twice (one found), 2 twice (one found).
    assert metrics["recall"] == {"0": 1.0, "1": 0.5, "2": 0.5, **{str(d): 0.0 for d in range(3, 10)}}
    # Digits never predicted have no precision to speak of: 0, not an error.
    assert all(metrics["precision"][str(d)] == 0.0 for d in range(3, 10))


def test_the_per_class_table_has_a_row_for_every_digit_with_its_support_by_hand():
    table = per_class_table(Y_TRUE, PROBS.argmax(axis=1))
    assert table.index.tolist() == list(range(10)) and table.index.name == "digit"
    assert table.columns.tolist() == ["precision", "recall", "f1", "support"]
    assert table.loc[:2].to_dict("index") == {
        0: {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1},
        1: {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
        2: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}}
    assert (table.loc[3:] == 0).all().all()  # never true, never predicted


def test_macro_f1_by_hand_over_all_ten_digits():
    f1 = [2 * p * r / (p + r) for p, r in ((0.5, 1.0), (1.0, 0.5), (0.5, 0.5))]  # digits 3-9 score 0
    assert classification_metrics(Y_TRUE, PROBS)["f1_macro"] == round(sum(f1) / 10, 6)


def test_log_loss_by_hand():
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.4) + math.log(0.7) + math.log(0.25)) / 5
    assert classification_metrics(Y_TRUE, PROBS)["log_loss"] == pytest.approx(expected, abs=1e-6)


def test_perfect_predictions():
    y = np.arange(10)
    metrics = classification_metrics(y, np.eye(10) * 0.99 + 0.001)  # rows sum to 1
    assert metrics["accuracy"] == 1.0 and metrics["f1_macro"] == 1.0
    assert metrics["log_loss"] == pytest.approx(-math.log(0.991), abs=1e-6)


def test_metrics_are_plain_json_types():
    metrics = classification_metrics(Y_TRUE, PROBS)
    assert set(metrics) == {"accuracy", "f1_macro", "log_loss", "precision", "recall"}
    for value in (metrics["accuracy"], metrics["f1_macro"], metrics["log_loss"], *metrics["precision"].values()):
        assert type(value) is float
    assert list(metrics["precision"]) == [str(d) for d in range(10)]


def test_predictions_csv_format():
    text = predictions_csv(Y_TRUE, PROBS)
    assert text == ("actual,predicted,confidence\n"
                    "0,0,0.9000\n1,1,0.6000\n1,2,0.5000\n2,2,0.7000\n2,0,0.5500\n")
    # Labels that come as floats are still written as digits, not as 0.0000.
    assert predictions_csv(Y_TRUE.astype(float), PROBS) == text


def test_predictions_csv_round_trip():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 50)
    probs = rng.dirichlet(np.ones(10), 50)
    table = read_predictions(predictions_csv(y_true, probs))
    assert list(table.columns) == ["actual", "predicted", "confidence"]
    np.testing.assert_array_equal(table["actual"], y_true)
    np.testing.assert_array_equal(table["predicted"], probs.argmax(axis=1))
    np.testing.assert_allclose(table["confidence"], probs.max(axis=1), atol=5e-5)
    assert table["actual"].dtype.kind == table["predicted"].dtype.kind == "i"


def test_read_predictions_of_a_single_row():
    table = read_predictions("actual,predicted,confidence\n3,5,0.1234\n")
    assert table.to_dict("list") == {"actual": [3], "predicted": [5], "confidence": [0.1234]}


def test_confusion_matrix_counts():
    matrix = confusion_matrix(np.array([0, 1, 1, 2, 2, 2, 9]), np.array([0, 2, 1, 0, 2, 2, 9]))
    assert matrix.shape == (10, 10)
    expected = np.zeros((10, 10), dtype=int)
    expected[0, 0] = 1
    expected[1, 1] = expected[1, 2] = 1
    expected[2, 0] = 1
    expected[2, 2] = 2
    expected[9, 9] = 1
    np.testing.assert_array_equal(matrix, expected)  # rows: true digit, columns: predicted
    assert matrix.sum() == 7 and matrix.trace() == 5
    assert matrix.dtype.kind == "i"  # counts: the heatmap writes them as whole numbers


def test_confusion_matrix_agrees_with_the_csv_round_trip():
    table = read_predictions(predictions_csv(Y_TRUE, PROBS))
    matrix = confusion_matrix(table["actual"], table["predicted"])
    assert matrix[1, 2] == 1 and matrix[2, 0] == 1 and matrix.trace() == 3


def test_every_number_is_rounded_to_six_places():
    # Thirds everywhere: accuracy 2/3, precision and recall 1/3 or 2/3, a log loss with many decimals.
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.full((6, 10), 0.01)
    probabilities[np.arange(6), y_pred] = 0.91
    metrics = classification_metrics(y_true, probabilities)
    assert metrics["accuracy"] == 0.666667
    assert metrics["precision"]["0"] == metrics["recall"]["1"] == 0.666667
    assert metrics["log_loss"] == round(metrics["log_loss"], 6) != round(metrics["log_loss"], 5)


def test_predictions_of_other_lengths_are_refused():
    with pytest.raises(ValueError, match=r"^3 labels for 2 predictions$"):
        predictions_csv(np.array([1, 2, 3]), np.eye(10)[:2])


@pytest.mark.filterwarnings("error")
def test_a_digit_never_predicted_has_precision_zero_without_a_warning():
    # Digits 2 to 9 are neither true nor predicted: their precision and recall are 0 by the project's choice,
    # not by scikit-learn's default, which warns on every evaluation of a model that never names some digit.
    probabilities = np.eye(10)[[0, 1, 1]]
    metrics = classification_metrics(np.array([0, 1, 0]), probabilities)
    assert metrics["precision"]["5"] == metrics["recall"]["5"] == 0
    assert metrics["f1_macro"] == 0.133333  # F1 2/3 for digits 0 and 1, 0 for the eight others


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the first line is not 'actual,predicted,confidence'"),
    ("actual,predicted\n1,1\n", "the first line is not 'actual,predicted,confidence'"),
    ("actual,predicted,confidence\n", "no rows"),
    ("actual,predicted,confidence\n1,1\n", "expected rows of 3 numbers"),
    ("actual,predicted,confidence\n1,12,0.5\n", "a digit that is not a whole number from 0 to 9"),
    ("actual,predicted,confidence\n10,1,0.5\n", "a digit that is not a whole number from 0 to 9"),
    ("actual,predicted,confidence\n-1,1,0.5\n", "a digit that is not a whole number from 0 to 9"),
    ("actual,predicted,confidence\n1.5,1,0.5\n", "a digit that is not a whole number from 0 to 9"),
])
def test_a_broken_predictions_table_is_named_with_what_is_wrong_and_how_to_rebuild_it(text, reason):
    with pytest.raises(ArtifactError) as error:
        read_predictions(text, "reports/predictions/nn.csv")
    assert str(error.value) == (f"reports/predictions/nn.csv is not a predictions table ({reason}); rebuild it with "
                                "`dvc repro --force evaluate`")
    with pytest.raises(ArtifactError, match=r"^predictions is not a predictions table"):
        read_predictions(text)
