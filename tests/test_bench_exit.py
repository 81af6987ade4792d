"""The exit benchmark's table from given times, a real exit timed both ways, and its error for a failing load."""

import pytest

from benchmarks.bench_exit import exit_seconds, format_table
from benchmarks.bench_stages import BenchError


def test_table_has_a_row_per_kind_of_process_with_both_exits_and_their_ratio():
    table = format_table("on a test machine", {"light": (0.44, 0.04), "heavy": (1.46, 0.13)}, 5)
    assert table.splitlines() == [
        "on a test machine",
        "",
        "| process loads (median of 5) | exit as Python ends it s | with `skip_final_collection` s | ratio |",
        "|---|---|---|---|",
        "| light | 0.44 | 0.04 | 0.09 |",
        "| heavy | 1.46 | 0.13 | 0.09 |",
    ]


def test_an_exit_is_timed_from_the_first_handler_to_the_end_both_ways(tmp_path):
    note = tmp_path / "noted"
    for skip in (False, True):
        assert 0 < exit_seconds("import json", skip, note) < 30
        assert not note.exists()  # each run's note read and removed


def test_a_process_that_fails_to_load_is_an_error_quoting_it(tmp_path):
    with pytest.raises(BenchError, match=r"loads 'import no_such_module' failed \(exit 1\)[\s\S]*ModuleNotFoundError"):
        exit_seconds("import no_such_module", True, tmp_path / "noted")
