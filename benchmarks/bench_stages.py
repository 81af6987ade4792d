"""Where a full `dvc repro` spends its time: each stage's wall time, and a `dvc repro` with nothing to do.

    python -m benchmarks.bench_stages            # about 3 minutes on 2 cores
    python -m benchmarks.bench_stages --keep     # keep the temporary clone and say where it is

It works in a temporary clone of HEAD (uncommitted changes are not part of it), whose DVC cache and run-cache
start empty, so every stage really runs. `dvc repro fetch` comes first, off the clock (MNIST from
``$MNIST_MIRROR`` if set, else the pipeline's own sources); then each later stage, in dvc.yaml's order, is one
`dvc repro --single-item --force <stage>` subprocess timed whole; then `dvc repro` with everything up to date,
three times. The stages run with this interpreter's environment (its bin folder first on PATH). The table is
printed and written to ``benchmarks/stage_times.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mnist_pipeline.artifacts import write_text
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import find_project_root
from mnist_pipeline.tools.audit import describe_machine

PROG = "bench_stages"
OUTPUT = Path("benchmarks/stage_times.md")
FETCH = "fetch"
NOOP_RUNS = 3
NOTE = ("Each time is the wall clock of one `dvc repro --single-item --force <stage>` subprocess: Python's start, "
        "the imports (TensorFlow's where the stage loads it), DVC's own overhead (reading the pipeline, hashing "
        "dependencies and outputs, copying the outputs into the cache, writing dvc.lock) and the stage's work. "
        f"`{FETCH}` ran first, off the clock.")


class BenchError(PipelineError):
    """A step of a benchmark failed: a clone, a stage, a run of the tests."""


def format_table(header: str, times: dict[str, float], noop: float) -> str:
    """The markdown table: one row per stage with its share of the total, the total, the no-op `dvc repro`."""
    total = sum(times.values())
    rows = [f"| {stage} | {seconds:.1f} | {seconds / (total or 1):.0%} |" for stage, seconds in times.items()]
    return "\n".join([header, "", "| stage | wall s | share |", "|---|---|---|", *rows,
                      f"| total | {total:.1f} | 100% |",
                      f"| `dvc repro`, nothing to do (median of {NOOP_RUNS}) | {noop:.1f} | — |", "", NOTE])


def run_step(command: list[str], cwd: Path, env: dict[str, str], what: str) -> tuple[float, str]:
    """Run ``command``; its wall seconds and stdout. A failure raises, naming ``what`` and quoting its output."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise BenchError(f"{what} failed (exit {result.returncode}) in {cwd}; `{' '.join(command)}` printed:\n"
                         f"{output}")
    return seconds, result.stdout


def measure(root: Path, clone: Path) -> tuple[str, dict[str, float], float]:
    """Clone ``root`` into ``clone``, fetch, time each later stage and the no-op `dvc repro` there."""
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "")}
    run_step(["git", "clone", "--quiet", "--no-hardlinks", str(root), str(clone)], root, env, "the clone")
    commit = run_step(["git", "rev-parse", "--short", "HEAD"], clone, env, "git rev-parse")[1].strip()
    stages = [stage for stage in yaml.safe_load((clone / "dvc.yaml").read_text())["stages"] if stage != FETCH]
    print(f"{PROG}: {FETCH} (off the clock) ...", file=sys.stderr)
    run_step(["dvc", "repro", FETCH], clone, env, f"stage {FETCH}")
    times = {}
    for stage in stages:
        # --force: a stage whose outputs are in git (evaluate) would otherwise be skipped when its inputs come
        # out byte-identical to dvc.lock's.
        times[stage] = run_step(["dvc", "repro", "--single-item", "--force", stage], clone, env, f"stage {stage}")[0]
        print(f"{PROG}: {stage} {times[stage]:.1f} s", file=sys.stderr)
    noops = []
    for _ in range(NOOP_RUNS):
        seconds, stdout = run_step(["dvc", "repro"], clone, env, "the no-op `dvc repro`")
        if "Running stage" in stdout:
            raise BenchError(f"`dvc repro` after the full run still ran stages:\n{stdout.strip()}")
        noops.append(seconds)
    return commit, times, statistics.median(noops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write the table (default: {OUTPUT})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone and say where it is")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mnist-bench-stages-"))
    try:
        commit, times, noop = measure(find_project_root(), workdir / "clone")
    except PipelineError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"{PROG}: the clone is in {workdir / 'clone'}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    header = (f"`dvc repro` of {commit} from fetched data, stage by stage, on {describe_machine()}, "
              f"{platform.system()}, Python {platform.python_version()}")
    table = format_table(header, times, noop)
    print(table)
    write_text(args.output, table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
