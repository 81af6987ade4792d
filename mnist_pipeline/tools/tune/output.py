"""What the search prints: the trials ranked by their objective, and how to apply the best."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnist_pipeline import tables
from mnist_pipeline.tools.tune.config import (
    Study,
)
from mnist_pipeline.tools.tune.record import (
    Trial,
)


def ranked(trials: Sequence[Trial], direction: str) -> list[Trial]:
    """Best first; among equal values, the earlier trial first."""
    sign = -1 if direction == "maximize" else 1
    return sorted(trials, key=lambda trial: (sign * trial.value, trial.number))


def format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def format_table(study: Study, trials: Sequence[Trial]) -> str:
    """The trials as an aligned table, best first, with a rank column."""
    header = ["rank", "experiment", *study.space, study.objective]
    rows = [[str(rank), trial.name, *(format_value(trial.params[key]) for key in study.space), f"{trial.value:.4f}"]
            for rank, trial in enumerate(ranked(trials, study.direction), start=1)]
    return tables.format_table(rows, header)


def format_summary(study: Study, trials: Sequence[Trial]) -> str:
    """The table and what to do with the best trial."""
    if not trials:
        return f"No trials of study {study.name} on this commit yet."
    best = ranked(trials, study.direction)[0]
    order = "desc" if study.direction == "maximize" else "asc"
    return "\n".join([
        f"{len(trials)} trials of study {study.name}, by {study.objective} (validation digits), best first:",
        "",
        format_table(study, trials),
        "",
        f"Best: {best.name} ({study.objective} {best.value:.4f}).",
        f"  dvc exp apply {best.name}    # its params and outputs into the workspace, to commit",
        f"  dvc exp show --sort-by {study.objective} --sort-order {order}    # every trial, all params and metrics",
    ])
