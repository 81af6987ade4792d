"""The stage benchmark's table from given times, and its error for a failing step: no DVC."""

import sys

import pytest

from benchmarks.bench_stages import NOOP_RUNS, BenchError, format_table, run_step


def test_table_has_a_row_per_stage_in_order_a_total_and_the_no_op_run():
    table = format_table("on a test machine", {"preprocess": 3.0, "train_logreg": 12.3, "train_nn": 184.7}, 2.04)
    lines = table.splitlines()
    assert lines[0] == "on a test machine"
    assert [line for line in lines if line.startswith("|")] == [
        "| stage | wall s | share |",
        "|---|---|---|",
        "| preprocess | 3.0 | 2% |",
        "| train_logreg | 12.3 | 6% |",
        "| train_nn | 184.7 | 92% |",
        "| total | 200.0 | 100% |",
        f"| `dvc repro`, nothing to do (median of {NOOP_RUNS}) | 2.0 | — |",
    ]
    assert "Python's start" in lines[-1] and "DVC's own overhead" in lines[-1]


def test_a_failing_step_is_an_error_naming_it_and_quoting_its_output(tmp_path):
    command = [sys.executable, "-c", "import sys; print('out of memory'); sys.exit(3)"]
    with pytest.raises(BenchError, match=r"stage train_nn failed \(exit 3\)[\s\S]*out of memory"):
        run_step(command, tmp_path, {}, "stage train_nn")
