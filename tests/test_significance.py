"""The comparison's statistics against cases worked out by hand and against statsmodels' own implementations."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from mnist_pipeline.significance import accuracy_interval, compare_predictions, mcnemar_exact_p


def mcnemar(table, exact: bool):
    """statsmodels' McNemar test (imported when a test needs it: statsmodels takes a second to load)."""
    from statsmodels.stats.contingency_tables import mcnemar

    return mcnemar(table, exact=exact)


def proportion_confint(count: int, nobs: int, alpha: float, method: str):
    """statsmodels' confidence interval of a proportion."""
    from statsmodels.stats.proportion import proportion_confint

    return proportion_confint(count, nobs, alpha=alpha, method=method)


@pytest.mark.parametrize(("base_only", "new_only", "expected"), [
    (0, 6, 2 / 2**6),                        # all six discordant digits favour one side
    (1, 9, 2 * (1 + 10) / 2**10),            # P(X <= 1) for X ~ Bin(10, 1/2), doubled
    (2, 8, 2 * (1 + 10 + 45) / 2**10),
    (8, 2, 2 * (1 + 10 + 45) / 2**10),       # symmetric in the two sides
    (5, 5, 1.0),
    (3, 4, 1.0),                             # doubling 64/128 caps at 1
    (0, 0, 1.0),                             # no disagreement: no evidence either way
])
def test_mcnemar_exact_p_by_hand(base_only, new_only, expected):
    assert mcnemar_exact_p(base_only, new_only) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("base_only", [0, 1, 3, 17, 40, 212])
@pytest.mark.parametrize("new_only", [0, 2, 9, 30, 205])
def test_mcnemar_exact_p_agrees_with_statsmodels(base_only, new_only):
    # statsmodels' table: rows base right/wrong, columns new right/wrong; the concordant cells do not matter.
    table = [[9500, base_only], [new_only, 120]]
    assert mcnemar_exact_p(base_only, new_only) == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9)


def wilson_by_hand(correct: int, total: int) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.975)
    p = correct / total
    centre = (p + z**2 / (2 * total)) / (1 + z**2 / total)
    half = z / (1 + z**2 / total) * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
    return centre - half, centre + half


@pytest.mark.parametrize(("correct", "total"), [(8, 10), (9547, 10000), (9955, 10000), (0, 20), (20, 20), (1, 3)])
def test_accuracy_interval_is_wilsons(correct, total):
    low, high = accuracy_interval(correct, total)
    assert (low, high) == pytest.approx(wilson_by_hand(correct, total), abs=1e-12)
    assert (low, high) == pytest.approx(proportion_confint(correct, total, alpha=0.05, method="wilson"), abs=1e-12)
    assert 0 <= low <= correct / total <= high <= 1


def test_the_interval_of_a_whole_test_set_is_a_fraction_of_a_point_wide():
    low, high = accuracy_interval(9955, 10000)
    assert 0.9939 < low < 0.9955 < high < 0.9967  # 99.40% to 99.67%


def test_accuracy_interval_needs_digits():
    with pytest.raises(ValueError, match=r"^an accuracy needs at least one digit$"):
        accuracy_interval(0, 0)


def test_compare_predictions_counts_the_discordant_digits():
    actual = np.array([0, 1, 2, 3, 4])
    base = np.array([0, 1, 2, 0, 0])     # right on 0, 1, 2
    new = np.array([0, 1, 0, 3, 4])      # right on 0, 1, 3, 4
    result = compare_predictions(actual, base, new)
    assert (result.total, result.base_correct, result.new_correct) == (5, 3, 4)
    assert (result.base_only, result.new_only) == (1, 2)
    assert result.p_value == 1.0  # 2 x P(X <= 1), X ~ Bin(3, 1/2)
    assert result.verdict() == "no evidence of a difference at 5%"


def test_verdict_names_the_better_side_only_when_significant():
    actual = np.zeros(100, dtype=int)
    base = np.zeros(100, dtype=int)
    new = base.copy()
    new[:6] = 1  # new gets six digits wrong that base got right, and none the other way
    result = compare_predictions(actual, base, new)
    assert result.p_value == pytest.approx(0.03125)
    assert result.verdict("main", "workspace") == "main is better than workspace, significant at 5%"
    assert compare_predictions(actual, new, base).verdict("main", "workspace") == (
        "workspace is better than main, significant at 5%")
    # Five against none is not enough at 5%: 2 / 2**5 = 0.0625.
    new[5] = 0
    assert compare_predictions(actual, base, new).verdict() == "no evidence of a difference at 5%"


def test_compare_predictions_refuses_predictions_of_other_digits():
    with pytest.raises(ValueError, match=r"^the predictions must be non-empty and for the same digits$"):
        compare_predictions(np.arange(5), np.arange(5), np.arange(4))


def test_accuracy_interval_at_another_confidence_and_for_a_single_digit():
    low, high = accuracy_interval(8, 10, confidence=0.8)
    assert (low, high) == pytest.approx(proportion_confint(8, 10, alpha=0.2, method="wilson"))
    assert accuracy_interval(1, 1) == pytest.approx(proportion_confint(1, 1, alpha=0.05, method="wilson"))


def test_a_p_value_equal_to_alpha_is_no_evidence():
    # 0 against 6 discordant digits: McNemar's exact p = 2 / 2**6 = 0.03125, taken as the level itself.
    comparison = compare_predictions(np.zeros(6, dtype=int), np.ones(6, dtype=int), np.zeros(6, dtype=int))
    assert comparison.p_value == 0.03125
    assert comparison.verdict(alpha=0.03125) == "no evidence of a difference at 3%"
    assert comparison.verdict(alpha=0.05) == "new is better than base, significant at 5%"


def test_empty_predictions_are_refused_even_of_the_same_shape():
    with pytest.raises(ValueError, match="must be non-empty"):
        compare_predictions(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int))
