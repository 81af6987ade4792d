"""A pytest plugin for ``benchmarks/bench_tests.py``: when each pytest process of a run (the controller and each
pytest-xdist worker) had pytest loaded, had collected and ended its last test.

Each process appends one JSON line to the file ``$BENCH_TESTS_TIMELINE`` names as it ends. Times are
``time.time()`` seconds, comparable across the processes of one machine; a step a process never took (the xdist
controller collects nothing) is null.
"""

from __future__ import annotations

import json
import os
import time

import pytest

TIMELINE_ENV = "BENCH_TESTS_TIMELINE"

_times = {"process": os.environ.get("PYTEST_XDIST_WORKER", "main"), "loaded": time.time(), "collected": None,
          "last": None}


def pytest_collection_finish(session: pytest.Session) -> None:
    _times["collected"] = time.time()


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    _times["last"] = time.time()


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(TIMELINE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as timeline:  # one short line: the processes' appends do not mix
            timeline.write(json.dumps(_times) + "\n")
