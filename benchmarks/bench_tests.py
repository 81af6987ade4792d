"""Where a run of the tests spends its time: start-up, collection, the tests themselves and the end, with the CPU of
every process the run started, against a base revision's tests on the same machine and the suite's target.

    python -m benchmarks.bench_tests                          # `make test-fast`, HEAD against main, 3 rounds each
    python -m benchmarks.bench_tests --suite test --rounds 1  # `make test` (about 5 minutes a run on 2 cores)
    python -m benchmarks.bench_tests --base HEAD~3            # against another revision

It runs the suite's pytest command (the Makefile's, tests/test_bench_tests.py checks that they agree) in temporary
clones of HEAD and of ``--base`` (uncommitted changes are not part of them), with this interpreter's environment.
The two take turns, round after round, so that a drift in the machine's speed meets both, and each row is the
median of a revision's rounds; with HEAD and the base the same commit, the ratio measures the machine's noise. The
phases, from :mod:`benchmarks.pytest_timeline` in every pytest process, add up to the wall time:

- start-up: until the last worker has Python, pytest and its plugins loaded;
- collection: until the last worker has imported every test module and chosen the tests to run;
- tests: until the last test ends;
- end: until the run exits (fixtures torn down, workers and their Pythons shut down, the summary printed).

The table is printed and written to ``benchmarks/test_times.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import cli, pytest_timeline
from benchmarks.alternate import alternated_medians
from benchmarks.bench_stages import BenchError, run_step
from mnist_pipeline.artifacts import write_text
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import find_project_root
from mnist_pipeline.tools.audit import describe_machine

PROG = "bench_tests"
OUTPUT = Path("benchmarks/test_times.md")
PHASES = ("start-up", "collection", "tests", "end")
# The wall seconds each suite is meant to keep within on a 2-core machine (issue 30).
TARGETS = {"test-fast": 15.0, "test": 240.0}
FAST_MARKERS = "not e2e and not heavy and not slow"


def workers() -> int:
    """The workers `make test` starts: one more than the cores this process may use (the Makefile says why)."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_arguments(suite: str) -> list[str]:
    """The arguments the Makefile's ``suite`` target gives ``python -m pytest``."""
    spread = ["--dist", "loadscope", "--no-loadscope-reorder"]
    if suite == "test-fast":
        return ["-n", "auto", *spread, "-m", FAST_MARKERS]
    return ["-n", str(workers()), *spread]


def phases(timeline: list[dict], start: float, end: float) -> dict[str, float]:
    """Each of :data:`PHASES`' seconds in one run that began at ``start`` and ended at ``end``, from its pytest
    processes' lines of :mod:`benchmarks.pytest_timeline` (the workers' where there are workers)."""
    processes = [line for line in timeline if line["process"] != "main"] or timeline
    loaded = max(line["loaded"] for line in processes)
    collected = max(line["collected"] for line in processes if line["collected"] is not None)
    last = max((line["last"] for line in processes if line["last"] is not None), default=collected)
    return {"start-up": loaded - start, "collection": collected - loaded, "tests": last - collected,
            "end": end - last}


def run_once(clone: Path, arguments: list[str], env: dict[str, str], plugin_dir: Path) -> dict[str, float]:
    """One run of ``python -m pytest arguments`` in ``clone``, with the timeline plugin from ``plugin_dir``: its
    phases, ``wall`` and ``cpu`` (the CPU seconds of every process it started and waited for). A run with a failing
    test raises, quoting the end of its output."""
    timeline = plugin_dir / "timeline.jsonl"
    timeline.unlink(missing_ok=True)
    env = {**env, pytest_timeline.TIMELINE_ENV: str(timeline),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-p", "pytest_timeline", *arguments]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    run_step(command, clone, env, "the tests")
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [json.loads(line) for line in timeline.read_text().splitlines()]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**phases(lines, start, end), "wall": end - start, "cpu": cpu}


def commit_of(root: Path, revision: str, env: dict[str, str]) -> str:
    """The full hash of the commit ``revision`` names in the repository at ``root`` (a branch, tag or hash of this
    checkout's, remote branches included)."""
    result = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=root, env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{revision!r} names no commit of {root}: give a branch, tag or commit hash (--base)")
    return result.stdout.strip()


def clone_at(root: Path, revision: str, folder: Path, env: dict[str, str]) -> str:
    """A clone of ``root`` at ``revision`` in ``folder``, its bytecode compiled as a checkout that has run its tests
    before has it (each module's, and pytest's rewrite of each test module's); the commit's short hash."""
    run_step(["git", "clone", "--quiet", "--no-hardlinks", str(root), str(folder)], root, env, "the clone")
    for command in (["git", "checkout", "--quiet", "--detach", commit_of(root, revision, env)],
                    [sys.executable, "-m", "compileall", "-q", "."],
                    [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", ""]):
        run_step(command, folder, env, f"preparing the clone of {revision}")
    # The environment that runs the tests, where they look for it: the plots page template `make` writes into it.
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return run_step(["git", "rev-parse", "--short", "HEAD"], folder, env, "git rev-parse")[1].strip()


def column_name(folder: str, revision: str, commit: str) -> str:
    """A revision's column in the table: ``HEAD (abc1234)``, ``main (abc1234)``, or ``base abc1234`` where the base
    is given as HEAD or as the commit itself, so that the two columns never share a name."""
    if folder == "new":
        return f"HEAD ({commit})"
    return f"base {commit}" if revision == "HEAD" or commit.startswith(revision) else f"{revision} ({commit})"


def format_table(header: str, suite: str, medians: dict[str, dict[str, float]], rounds: int) -> str:
    """The markdown table: a row per phase, the wall and CPU seconds; a column per revision (the base first),
    and the new one's ratio to the base."""
    (base, old), (new, now) = medians.items()
    rows = [*PHASES, "wall", "cpu"]
    names = {"wall": "**wall**", "cpu": "CPU, every process"}
    lines = [header, "", f"| `make {suite}` (median of {rounds}) | {base} s | {new} s | ratio |", "|---|---|---|---|"]
    lines += [f"| {names.get(row, row)} | {old[row]:.1f} | {now[row]:.1f} | {now[row] / old[row]:.2f} |"
              for row in rows]
    cores = {name: values["cpu"] / values["wall"] for name, values in medians.items()}
    lines += [f"| cores busy | {cores[base]:.2f} | {cores[new]:.2f} | — |", "",
              f"Target for `make {suite}` on 2 cores: {TARGETS[suite]:.0f} s of wall."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(TARGETS), default="test-fast")
    parser.add_argument("--base", default="main", help="the revision compared against (default: main)")
    parser.add_argument("--rounds", type=cli.count, default=3, help="runs of each revision (default: 3)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write the table (default: {OUTPUT})")
    args = parser.parse_args(argv)
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""), "DVC_NO_ANALYTICS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as the Makefile: each run would compile every module again
    workdir = Path(tempfile.mkdtemp(prefix="mnist-bench-tests-"))
    try:
        plugin_dir = workdir / "plugin"  # on the runs' PYTHONPATH: the plugin alone, not the clones beside it
        plugin_dir.mkdir()
        shutil.copy2(Path(pytest_timeline.__file__), plugin_dir / "pytest_timeline.py")
        root = find_project_root()
        clones = {}
        for revision, folder in ((args.base, "base"), ("HEAD", "new")):
            commit = clone_at(root, revision, workdir / folder, env)
            clones[column_name(folder, revision, commit)] = workdir / folder

        def timed(name: str, clone: Path):
            def run() -> dict[str, float]:
                timing = run_once(clone, pytest_arguments(args.suite), env, plugin_dir)
                print(f"{PROG}: {name}: {timing['wall']:.1f} s", file=sys.stderr)
                return timing
            return run

        medians = alternated_medians({name: timed(name, clone) for name, clone in clones.items()}, args.rounds)
    except PipelineError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = (f"`make {args.suite}`'s tests, {args.base} against HEAD, taking turns, on {describe_machine()}, "
              f"{platform.system()}, Python {platform.python_version()}")
    table = format_table(header, args.suite, medians, args.rounds)
    print(table)
    write_text(args.output, table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
