"""The models' answers as their training stages leave them for evaluate: written and read back exactly, and
refused with the command that writes them again when they cannot be the answers to these digits."""

import numpy as np
import pytest

from mnist_pipeline.errors import ArtifactError
from mnist_pipeline.probabilities import load_probabilities, save_probabilities

REBUILD = "dvc repro --force train_logreg"
LABELS = {"val": np.array([0, 1, 2]), "test": np.array([3, 4, 5, 6])}


def probabilities(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).random((n, 10))
    return rows / rows.sum(axis=1, keepdims=True)


def refusal(tmp_path, **arrays) -> str:
    path = tmp_path / "logreg.npz"
    np.savez(path, **arrays)
    with pytest.raises(ArtifactError) as error:
        load_probabilities(path, LABELS, REBUILD)
    message = str(error.value)
    assert message.startswith(f"{path} is not a model's probabilities for these digits: ")
    assert message.endswith(f"; write it again with `{REBUILD}`")
    return message


def test_probabilities_come_back_exactly_and_the_same_answers_write_the_same_bytes(tmp_path):
    val, test = probabilities(3, 0), np.eye(10)[[3, 4, 5, 6]]  # a model sure of each digit: zeros are probabilities
    save_probabilities(tmp_path / "a.npz", val=val, test=test)
    save_probabilities(tmp_path / "b.npz", val=val.copy(), test=test.copy())
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_probabilities(tmp_path / "a.npz", LABELS, REBUILD)
    assert set(loaded) == {"val", "test"}
    assert loaded["val"].dtype == val.dtype and np.array_equal(loaded["val"], val)
    assert np.array_equal(loaded["test"], test)
    # Any float width is a model's answers: single precision, as a network computes them, too.
    save_probabilities(tmp_path / "c.npz", val=val.astype(np.float32), test=test.astype(np.float32))
    assert load_probabilities(tmp_path / "c.npz", LABELS, REBUILD)["val"].dtype == np.float32


def test_answers_to_other_digits_are_refused(tmp_path):
    # Written before a preprocessing that holds out more validation digits: one row short.
    message = refusal(tmp_path, val=probabilities(2, 0), test=probabilities(4, 1))
    assert "'val' has shape (2, 10), not (3, 10)" in message
    assert "'test'" not in message


def test_a_missing_split_and_rows_that_are_no_probabilities_are_named(tmp_path):
    assert "no 'test' array" in refusal(tmp_path, val=probabilities(3, 0))
    scores = probabilities(4, 1) * 3  # scores, not probabilities: rows summing to 3
    assert "'test' rows are not probabilities" in refusal(tmp_path, val=probabilities(3, 0), test=scores)
    negative = probabilities(4, 1)
    negative[0, :2] = [-0.5, negative[0, 0] + negative[0, 1] + 0.5]
    assert "'test' rows are not probabilities" in refusal(tmp_path, val=probabilities(3, 0), test=negative)
    nan = probabilities(3, 0)
    nan[1, 1] = np.nan
    assert "'val' rows are not probabilities" in refusal(tmp_path, val=nan, test=probabilities(4, 1))
    one_hot = np.eye(10, dtype=np.uint8)[[0, 1, 2]]  # integers, though each row sums to 1: labels, not answers
    assert "'val' rows are not probabilities" in refusal(tmp_path, val=one_hot, test=probabilities(4, 1))


@pytest.mark.parametrize(("excess", "refused"), [(1e-7, False), (2e-6, True), (0.5, True)])
def test_rows_must_sum_to_one_within_a_millionth(tmp_path, excess, refused):
    test = probabilities(4, 1)
    test[2, 0] += excess
    path = tmp_path / "logreg.npz"
    np.savez(path, val=probabilities(3, 0), test=test)
    if refused:
        assert "'test' rows are not probabilities" in refusal(tmp_path, val=probabilities(3, 0), test=test)
    else:
        assert np.array_equal(load_probabilities(path, LABELS, REBUILD)["test"], test)


def test_every_problem_is_named_in_one_message(tmp_path):
    message = refusal(tmp_path, test=probabilities(5, 1))
    assert ": no 'val' array; 'test' has shape (5, 10), not (4, 10) (one row a digit, one column a class); " in message


def test_a_file_that_is_no_npz_is_refused_as_unreadable(tmp_path):
    path = tmp_path / "nn.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="is not a readable npz") as error:
        load_probabilities(path, LABELS, REBUILD)
    assert f"rebuild it with `{REBUILD}`" in str(error.value)  # the training stage that writes it, not preprocess
    with pytest.raises(FileNotFoundError):
        load_probabilities(tmp_path / "missing.npz", LABELS, REBUILD)
