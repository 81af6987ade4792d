"""Is a change in accuracy real? Intervals for one accuracy, and McNemar's exact test for two on the same digits.

Both revisions classify the same 10,000 test digits, so their results are paired: only the digits one got
right and the other wrong say anything about which is better. McNemar's exact test asks whether those
discordant digits split more unevenly than a fair coin would; the digits both got right or both got wrong
cancel out. An interval on each accuracy alone would ignore that pairing and miss real differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE


def accuracy_interval(correct: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for the accuracy ``correct / total``: good coverage even near 100%, unlike the
    normal approximation, and less conservative than Clopper-Pearson."""
    if total <= 0:
        raise ValueError("an accuracy needs at least one digit")
    interval = binomtest(correct, total).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def mcnemar_exact_p(base_only: int, new_only: int) -> float:
    """Two-sided p-value of McNemar's exact test: under "no difference", each of the ``base_only + new_only``
    discordant digits is equally likely to favour either side (a binomial with p = 1/2)."""
    discordant = base_only + new_only
    if discordant == 0:
        return 1.0
    return float(binomtest(min(base_only, new_only), discordant, 0.5).pvalue)


@dataclass(frozen=True)
class PairedComparison:
    """Two classifiers on the same digits: how many each got right, and where they disagree."""

    total: int
    base_correct: int
    new_correct: int
    base_only: int  # digits the base got right and the new one wrong
    new_only: int   # digits the new one got right and the base wrong

    @property
    def p_value(self) -> float:
        return mcnemar_exact_p(self.base_only, self.new_only)

    def verdict(self, base_name: str = "base", new_name: str = "new", alpha: float = ALPHA) -> str:
        """One line: which is better and that the difference is significant, or that there is no evidence."""
        level = f"{alpha:.0%}"
        if self.p_value >= alpha:
            return f"no evidence of a difference at {level}"
        better, worse = (new_name, base_name) if self.new_only > self.base_only else (base_name, new_name)
        return f"{better} is better than {worse}, significant at {level}"


def compare_predictions(actual: np.ndarray, base_predicted: np.ndarray, new_predicted: np.ndarray) -> PairedComparison:
    """The paired comparison of two sets of predictions for the same true digits ``actual``."""
    actual, base_predicted, new_predicted = (np.asarray(a) for a in (actual, base_predicted, new_predicted))
    if not actual.shape == base_predicted.shape == new_predicted.shape or actual.ndim != 1 or not len(actual):
        raise ValueError("the predictions must be non-empty and for the same digits")
    base_right, new_right = base_predicted == actual, new_predicted == actual
    return PairedComparison(total=len(actual), base_correct=int(base_right.sum()), new_correct=int(new_right.sum()),
                            base_only=int((base_right & ~new_right).sum()),
                            new_only=int((new_right & ~base_right).sum()))
