"""Temperature scaling on simulated models whose right temperature is known."""

import numpy as np
import pytest
from scipy.special import softmax

from mnist_pipeline.calibration import expected_calibration_error, reliability_table
from mnist_pipeline.temperature import TEMPERATURES, fit_temperature


def simulated(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 10) scores, and digits drawn from ``softmax(scores / temperature)``: the probabilities of a model that
    reports ``softmax(scores)`` are calibrated only at that temperature."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 1, (n, 10))
    scores[np.arange(n), rng.integers(0, 10, n)] += rng.uniform(0, 4, n)  # some sure, some unsure
    chances = probabilities(scores, temperature)
    digits = (chances.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    return scores, digits


def probabilities(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """What a model whose scores are ``scores`` reports at ``temperature``: softmax(scores / temperature)."""
    return softmax(scores / temperature, axis=1)


def ece(digits: np.ndarray, chances: np.ndarray) -> float:
    return expected_calibration_error(reliability_table(digits, chances))


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.0])
def test_the_fitted_temperature_is_the_one_the_digits_were_drawn_with(true_temperature):
    scores, digits = simulated(5_000, true_temperature)
    fitted = fit_temperature(scores, digits)
    assert fitted == pytest.approx(true_temperature, rel=0.08)
    # 5,000 digits measure an ECE to about 0.01 (sampling); a model off by a factor of two is far beyond that.
    assert ece(digits, probabilities(scores, fitted)) < 0.02
    if true_temperature != 1.0:
        assert ece(digits, probabilities(scores)) > 0.04


def test_an_underconfident_model_is_sharpened_and_an_overconfident_one_softened():
    scores, digits = simulated(5_000, 0.5)  # the reported softmax(scores) is too soft
    assert fit_temperature(scores, digits) < 1
    # Scores twice as large say what the digits were drawn with: no scaling needed.
    assert fit_temperature(scores * 2, digits) == pytest.approx(1, abs=0.1)
    assert fit_temperature(scores * 4, digits) > 1  # scores too large: the model is overconfident


def test_the_predicted_digit_is_the_same_at_every_temperature():
    scores, _ = simulated(2_000, 1.0)
    for temperature in (0.2, 0.5, 1.0, 3.0, 5.0):
        chances = probabilities(scores, temperature)
        np.testing.assert_array_equal(chances.argmax(axis=1), scores.argmax(axis=1))
        np.testing.assert_allclose(chances.sum(axis=1), 1)


def test_the_grid_runs_from_a_fifth_to_five_in_steps_of_five_thousandths():
    assert TEMPERATURES[0] == 0.2 and TEMPERATURES[-1] == 5.0 and len(TEMPERATURES) == 961
    np.testing.assert_allclose(np.diff(TEMPERATURES), 0.005)
    assert 1.0 in TEMPERATURES and 0.915 in TEMPERATURES  # decimals as written, not 0.9150000000000001


def test_ties_go_to_the_first_temperature_of_the_grid():
    # Scores that are all equal say 10% for every digit at any temperature: every temperature ties.
    digits = np.arange(100) % 10
    assert fit_temperature(np.zeros((100, 10)), digits, np.array([3.0, 1.0, 2.0])) == 3.0
    assert fit_temperature(np.zeros((100, 10)), digits) == 0.2
