"""The side-by-side timing the benchmarks share: variants take turns, and each keeps the median of its rounds."""

import os

from benchmarks.alternate import alternated_medians, cpu_line


def test_variants_take_turns_and_keep_their_medians():
    calls = []
    times = {"a": iter([5.0, 1.0, 3.0]), "b": iter([2.0, 9.0, 4.0])}

    def run(name):
        def timed():
            calls.append(name)
            return next(times[name])
        return timed

    assert alternated_medians({"a": run("a"), "b": run("b")}, rounds=3) == {"a": 3.0, "b": 4.0}
    assert calls == ["a", "b"] * 3


def test_a_run_timed_in_parts_keeps_each_parts_median():
    phases = iter([{"start": 1.0, "tests": 9.0}, {"start": 3.0, "tests": 7.0}, {"start": 2.0, "tests": 8.0}])
    assert alternated_medians({"a": lambda: next(phases)}, rounds=3) == {"a": {"start": 2.0, "tests": 8.0}}


def test_cpu_line_names_the_processor_and_the_usable_cores():
    cores = len(os.sched_getaffinity(0))
    assert cpu_line({"model name": "AMD EPYC"}) == f"AMD EPYC, {cores} cores"
    assert cpu_line({}) == f"unknown CPU, {cores} cores"
