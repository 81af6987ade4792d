"""How long a process of the project takes to end once its work is done, as Python ends it and with
:func:`mnist_pipeline.process_exit.skip_final_collection`.

    python -m benchmarks.bench_exit              # about a minute on 2 cores
    python -m benchmarks.bench_exit --rounds 9

Each run is a fresh Python that loads what a kind of the project's processes loads, notes the time in the first
``atexit`` handler to run, and ends; its exit is the time from that note to its end, as this process sees it.
The kinds: what the stages without TensorFlow, the tests' workers and the tools load (scikit-learn, SciPy, pandas,
Matplotlib), and with TensorFlow too, as `train_nn` and `mnist-predict` (Keras imported through the project, one
op run). The two ways of ending take turns (``benchmarks/alternate.py``); the table gives each one's median and
the ratio. It is printed and written to ``benchmarks/exit_times.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import cli
from benchmarks.alternate import alternated_medians
from benchmarks.bench_stages import BenchError, run_step
from mnist_pipeline.artifacts import write_text
from mnist_pipeline.tools.audit import describe_machine

PROG = "bench_exit"
OUTPUT = Path("benchmarks/exit_times.md")
# What each kind of process loads before its work.
LOADS = {
    "scikit-learn, SciPy, pandas, Matplotlib": "import sklearn.linear_model, scipy.stats, pandas, matplotlib.figure",
    "the same and TensorFlow": ("import sklearn.linear_model, scipy.stats, pandas, matplotlib.figure\n"
                                "from mnist_pipeline.tensorflow_env import import_keras\n"
                                "import_keras().ops.add(1, 1)"),
}
# The child's last lines: the exit it is told to take, then the note of the time in the handler that runs first
# (registered last), before any freeze.
ENDING = """
import atexit, sys, time
if sys.argv[2] == "skip":
    from mnist_pipeline.process_exit import skip_final_collection
    skip_final_collection()
atexit.register(lambda: open(sys.argv[1], "w").write(repr(time.time())))
"""


def exit_seconds(loads: str, skip: bool, note: Path) -> float:
    """Run a Python that executes ``loads``, then ends (freezing its objects first where ``skip``); the seconds
    from its first ``atexit`` handler to its end."""
    command = [sys.executable, "-c", loads + "\n" + ENDING, str(note), "skip" if skip else "plain"]
    run_step(command, Path.cwd(), dict(os.environ), f"the process that loads {loads.splitlines()[0]!r}")
    ended = time.time()
    noted = float(note.read_text())
    note.unlink()
    return ended - noted


def format_table(header: str, medians: dict[str, tuple[float, float]], rounds: int) -> str:
    """One row per kind of process: its exit as Python ends it, with the final collections skipped, the ratio."""
    lines = [header, "", f"| process loads (median of {rounds}) | exit as Python ends it s | "
                         f"with `skip_final_collection` s | ratio |", "|---|---|---|---|"]
    lines += [f"| {kind} | {plain:.2f} | {skipped:.2f} | {skipped / plain:.2f} |"
              for kind, (plain, skipped) in medians.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=cli.count, default=5,
                        help="runs of each way of ending, taking turns (default 5)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write the table (default: {OUTPUT})")
    args = parser.parse_args(argv)
    medians = {}
    with tempfile.TemporaryDirectory(prefix="mnist-bench-exit-") as folder:
        note = Path(folder) / "noted"
        try:
            for kind, loads in LOADS.items():
                timed = alternated_medians({"plain": lambda loads=loads: exit_seconds(loads, False, note),
                                            "skip": lambda loads=loads: exit_seconds(loads, True, note)}, args.rounds)
                medians[kind] = (timed["plain"], timed["skip"])
                print(f"{PROG}: {kind}: {timed['plain']:.2f} s, {timed['skip']:.2f} s", file=sys.stderr)
        except BenchError as error:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
            return 130
    header = (f"A process's end once its work is done, as Python ends it and with the final collections skipped, "
              f"taking turns, on {describe_machine()}, {platform.system()}, Python {platform.python_version()}")
    table = format_table(header, medians, args.rounds)
    print(table)
    write_text(args.output, table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
