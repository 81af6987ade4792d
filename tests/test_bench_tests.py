"""The test-suite benchmark: its phases from given timelines, its table, its pytest commands against the Makefile's,
and its plugin in a real pytest run of one small test file."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

from benchmarks import pytest_timeline
from benchmarks.bench_tests import (
    BenchError,
    column_name,
    commit_of,
    format_table,
    main,
    phases,
    pytest_arguments,
    run_once,
    workers,
)


def test_the_phases_run_from_the_start_to_the_last_worker_loaded_collected_and_done_then_to_the_exit():
    timeline = [
        {"process": "main", "loaded": 100.2, "collected": None, "last": 113.0},
        {"process": "gw0", "loaded": 100.7, "collected": 104.0, "last": 112.5},
        {"process": "gw1", "loaded": 100.8, "collected": 104.5, "last": 112.0},
    ]
    got = phases(timeline, start=100.0, end=114.0)
    assert got == pytest.approx({"start-up": 0.8, "collection": 3.7, "tests": 8.0, "end": 1.5})
    assert sum(got.values()) == pytest.approx(14.0)  # the wall


def test_without_workers_the_one_pytest_process_is_the_timeline():
    timeline = [{"process": "main", "loaded": 10.5, "collected": 12.0, "last": 15.0}]
    assert phases(timeline, 10.0, 15.5) == pytest.approx({"start-up": 0.5, "collection": 1.5, "tests": 3.0,
                                                          "end": 0.5})


def test_a_run_that_selected_no_test_has_no_test_time():
    timeline = [{"process": "main", "loaded": 10.5, "collected": 12.0, "last": None}]
    assert phases(timeline, 10.0, 12.5)["tests"] == 0


def test_the_table_has_the_base_first_each_phase_the_wall_the_cpu_and_the_ratios():
    medians = {"main (abc1234)": {"start-up": 1.0, "collection": 4.0, "tests": 10.0, "end": 1.0, "wall": 16.0,
                                  "cpu": 28.0},
               "HEAD (def5678)": {"start-up": 1.0, "collection": 2.0, "tests": 10.0, "end": 1.0, "wall": 14.0,
                                  "cpu": 21.0}}
    lines = format_table("on a test machine", "test-fast", medians, 3).splitlines()
    assert lines[0] == "on a test machine"
    assert [line for line in lines if line.startswith("|")] == [
        "| `make test-fast` (median of 3) | main (abc1234) s | HEAD (def5678) s | ratio |",
        "|---|---|---|---|",
        "| start-up | 1.0 | 1.0 | 1.00 |",
        "| collection | 4.0 | 2.0 | 0.50 |",
        "| tests | 10.0 | 10.0 | 1.00 |",
        "| end | 1.0 | 1.0 | 1.00 |",
        "| **wall** | 16.0 | 14.0 | 0.88 |",
        "| CPU, every process | 28.0 | 21.0 | 0.75 |",
        "| cores busy | 1.75 | 1.50 | — |",
    ]
    assert lines[-1] == "Target for `make test-fast` on 2 cores: 15 s of wall."


def test_the_two_columns_never_share_a_name():
    assert column_name("new", "HEAD", "abc1234") == "HEAD (abc1234)"
    assert column_name("base", "main", "abc1234") == "main (abc1234)"
    assert column_name("base", "HEAD", "abc1234") == "base abc1234"  # HEAD against itself
    assert column_name("base", "abc12", "abc1234") == "base abc1234"  # the base named by its commit


@pytest.mark.parametrize("suite", ["test-fast", "test"])
def test_the_pytest_commands_are_the_makefiles(suite):
    makefile = (REPO_ROOT / "Makefile").read_text()
    [recipe] = re.findall(rf"^{suite}: .*\n\tpython -m pytest (.*)$", makefile, re.MULTILINE)
    assert shlex.split(recipe.replace("$(TEST_WORKERS)", str(workers()))) == pytest_arguments(suite)


def test_a_worker_more_than_the_cores_as_the_makefile_counts_them():
    counted = subprocess.run(["make", "-s", "-f", "-", "workers"], cwd=REPO_ROOT, capture_output=True, text=True,
                             input=(REPO_ROOT / "Makefile").read_text() + "\nworkers:\n\t@echo $(TEST_WORKERS)\n",
                             check=True).stdout.strip()
    assert counted == str(workers())


@pytest.mark.e2e
def test_the_plugin_times_each_step_of_a_real_run(tmp_path):
    (tmp_path / "test_two.py").write_text("import time\n\ndef test_a():\n    time.sleep(0.2)\n\n"
                                          "def test_b():\n    pass\n")
    timeline = tmp_path / "timeline.jsonl"
    plugin_dir = os.path.dirname(pytest_timeline.__file__)
    # Not this worker's name: under pytest-xdist the environment says PYTEST_XDIST_WORKER=gw0.
    outside = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env = {**outside, pytest_timeline.TIMELINE_ENV: str(timeline), "PYTHONPATH": plugin_dir}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "pytest_timeline", "-p", "no:cacheprovider",
                    "test_two.py"], cwd=tmp_path, env=env, check=True, capture_output=True)
    [line] = [json.loads(text) for text in timeline.read_text().splitlines()]
    assert line["process"] == "main"
    assert line["loaded"] < line["collected"] < line["last"]
    assert line["last"] - line["collected"] >= 0.2  # test_a's sleep: the last test ended after it


@pytest.mark.e2e
def test_a_failing_run_is_an_error_quoting_its_output(tmp_path):
    (tmp_path / "test_broken.py").write_text("def test_broken():\n    assert 'the answer' == 42\n")
    (tmp_path / "pytest_timeline.py").write_text((REPO_ROOT / "benchmarks/pytest_timeline.py").read_text())
    with pytest.raises(BenchError, match=r"the tests failed \(exit 1\)[\s\S]*the answer"):
        run_once(tmp_path, [], dict(os.environ), tmp_path)


def test_no_rounds_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--rounds", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --rounds: give a whole number of at least 1, not '0'" in err


def test_a_revision_is_the_commit_this_checkout_names_and_an_unknown_one_is_an_error(tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "one"], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(["git", "update-ref", "refs/remotes/origin/feature", head], cwd=tmp_path, check=True)
    env = dict(os.environ)
    assert commit_of(tmp_path, "HEAD", env) == commit_of(tmp_path, "origin/feature", env) == head  # a remote one too
    with pytest.raises(BenchError, match=r"'no-such-branch' names no commit of .*: give a branch, tag or commit"):
        commit_of(tmp_path, "no-such-branch", env)
