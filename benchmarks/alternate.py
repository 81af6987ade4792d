"""What the benchmarks that time variants side by side in one process share.

The variants take turns, round after round, so a drift in the machine's speed (a shared virtual machine's moves
from minute to minute) meets them all; each variant's time is the median of its rounds.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping

# One run's seconds, or its seconds by name.
Timing = float | Mapping[str, float]


def alternated_medians(runs: dict[str, Callable[[], Timing]], rounds: int) -> dict[str, Timing]:
    """Each of ``runs`` (a function that runs its variant once and returns its seconds, or a dict of named seconds
    such as a run's phases) ``rounds`` times, taking turns with the others; each one's median seconds (for a dict,
    each name's own median)."""
    timings = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            timings[name].append(run())
    return {name: _median(values) for name, values in timings.items()}


def _median(timings: list[Timing]) -> Timing:
    if isinstance(timings[0], Mapping):
        return {key: statistics.median(timing[key] for timing in timings) for key in timings[0]}
    return statistics.median(timings)


def cpu_line(fields: dict[str, str]) -> str:
    """The processor of cpuinfo ``fields`` and the cores this process may use, as a table's header starts."""
    return f"{fields.get('model name', 'unknown CPU')}, {len(os.sched_getaffinity(0))} cores"
