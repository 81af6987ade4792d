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
    val, test = probabilities(3, 0), probabilities(4, 1)
    save_probabilities(tmp_path / "a.npz", val=val, test=test)
    save_probabilities(tmp_path / "b.npz", val=val.copy(), test=test.copy())
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_probabilities(tmp_path / "a.npz", LABELS, REBUILD)
    assert set(loaded) == {"val", "test"}
    assert loaded["val"].dtype == val.dtype and np.array_equal(loaded["val"], val)
    assert np.array_equal(loaded["test"], test)


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
    digits = np.ones((3, 10), dtype=np.uint8)  # integers: not a model's answers
    assert "'val' rows are not probabilities" in refusal(tmp_path, val=digits, test=probabilities(4, 1))


def test_a_file_that_is_no_npz_is_refused_as_unreadable(tmp_path):
    path = tmp_path / "nn.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="is not a readable npz"):
        load_probabilities(path, LABELS, REBUILD)
    with pytest.raises(FileNotFoundError):
        load_probabilities(tmp_path / "missing.npz", LABELS, REBUILD)
