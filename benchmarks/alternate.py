"""What the benchmarks that time variants side by side in one process share.

The variants take turns, round after round, so a drift in the machine's speed (a shared virtual machine's moves
from minute to minute) meets them all; each variant's time is the median of its rounds.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable


def alternated_medians(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Each of ``runs`` (a function that runs its variant once and returns its seconds) ``rounds`` times, taking
    turns with the others; each one's median seconds."""
    seconds = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            seconds[name].append(run())
    return {name: statistics.median(values) for name, values in seconds.items()}


def cpu_line(fields: dict[str, str]) -> str:
    """The processor of cpuinfo ``fields`` and the cores this process may use, as a table's header starts."""
    return f"{fields.get('model name', 'unknown CPU')}, {len(os.sched_getaffinity(0))} cores"
