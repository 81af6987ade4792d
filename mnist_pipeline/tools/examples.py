"""``make docs``: run the commands the manual shows and put their real output in the pages.

A page marks an example it takes from here with an HTML comment before its code block::

    <!-- make docs: compare-head -->
    ```
    $ make compare BASE=HEAD
    ...
    ```

:data:`EXAMPLES` says, for each name, the commands and where they run. ``make docs`` clones the project at
``HEAD`` into a temporary folder (its DVC cache shared with this one: nothing retrains), runs each example's
commands there, writes what they printed to ``docs/examples/<name>.txt`` and replaces the marked blocks with it.
``tests/test_docs.py`` fails when a marked block is not the last generation's output, so an example cannot drift
from the code without someone rerunning ``make docs`` and seeing the difference in the diff.

    $ make docs                        # every example (the audit reruns the pipeline: minutes)
    $ python -m mnist_pipeline.tools.examples compare-first-run predict-pictures
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from mnist_pipeline.artifacts import write_text
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import find_project_root

PROG = "mnist-examples"
DOCS = Path("docs")
OUTPUTS = DOCS / "examples"
MARKER = re.compile(r"^<!-- make docs: (?P<name>[a-z0-9-]+) -->\n```[a-z]*\n.*?^```$", re.MULTILINE | re.DOTALL)
# What a Makefile target needs that the clone borrows from this project's environment: make must not rebuild it.
BORROWED = (".venv/.installed", ".venv/share/dvc-plots/offline.html")


# The per-class lines a metrics diff leaves out to stay readable.
PER_CLASS = r"\.(precision|recall)\."
# The param the change-a-param and run-cache examples set: the logistic regression's C, 30 to 10.
SET_C = "sed -i 's/^  C: 30.0 /  C: 10.0 /' params.yaml"
# The columns of a sweep worth reading; Created (a time of day) is left out, as it differs on every run.
SHOW_SWEEP = ("dvc exp show --md --drop '.*' --keep "
              "'^(Experiment|State|nn\\.accuracy|nn\\.ece|logreg\\.accuracy|train_nn\\.cnn\\.epochs)$'")
# A study that would choose by the test digits, which tune refuses.
TEST_OBJECTIVE = "sed -i 's/objective: logreg.val_accuracy/objective: logreg.accuracy/' tune.yaml"
WAIT_FOR_THE_QUEUE = "while dvc queue status | grep -q -E 'Queued|Running'; do sleep 5; done"
# A log line's timestamp, shown as … (it is the only part of a run's output that differs every time).
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)


def side_clone(folder: str) -> tuple[str, ...]:
    """Setup commands: a second clone of the example clone in ``folder``, sharing its environment and DVC cache."""
    return (f"git clone -q . {folder}", f"cp -P .venv {folder}/", f"cp .dvc/config.local {folder}/.dvc/",
            f"cd {folder} && dvc checkout --quiet")


@dataclasses.dataclass(frozen=True)
class Example:
    """Commands run in order in ``cwd`` (relative to the clone); what a page shows is each command after ``$ ``
    and its output. ``start``: the output shown begins at the first line matching it; ``head``: only its first
    lines are shown, this many."""

    commands: tuple[str, ...]
    cwd: str = "."
    start: str | None = None
    head: int | None = None
    setup: tuple[str, ...] = ()  # run first, in the clone's root, not shown
    # Only the lines matching it are shown, "…" standing for each run of lines left out.
    keep: str | None = None
    # A command that runs until stopped (a server): Ctrl-C (again each second while it runs) once a line of its
    # output matches this.
    until: str | None = None
    # Run from a shell whose PATH lacks the project's environment (not activated), as a new user's may.
    outside_venv: bool = False


EXAMPLES = {
    # A shell that has not activated the environment (a side clone: DVC removes visualize's outputs first).
    "wrong-python": Example((".venv/bin/dvc repro --force --single-item visualize",), cwd="../outside",
                            setup=side_clone("../outside"), outside_venv=True),
    "status-after-run": Example(("dvc status",)),
    # The remote is a folder beside the clone, inside the examples' temporary folder: `dvc remote add` takes a
    # relative path from the current folder (and writes it relative to .dvc/).
    "push": Example(("dvc remote add -d shared ../team-remote", "dvc push")),
    "teammate-pull": Example(("dvc pull", "dvc status", "dvc repro"), cwd="../teammate",
                             setup=("git commit -qam 'add the team remote'", "git clone -q . ../teammate")),
    "audit": Example(("make audit",), start=r"^Reproduction audit of "),
    "compare-first-run": Example(("make compare BASE=825a335",)),
    "metrics-diff-first-run": Example((rf"dvc metrics diff 825a335 | grep -v -E '{PER_CLASS}'",)),
    "compare-two-machines": Example(("make compare BASE=41b18a6 NEW=e20aab4",)),
    # A second clone, the "producer", changes one param and reruns; the run-cache example then reuses its run.
    "change-a-param": Example(("dvc status", "dvc repro", "dvc params diff",
                               rf"dvc metrics diff | grep -v -E '{PER_CLASS}'", "make compare BASE=HEAD"),
                              cwd="../producer", setup=(*side_clone("../producer"), f"cd ../producer && {SET_C}")),
    "run-cache": Example(("dvc pull --run-cache", "dvc repro --pull"), cwd="../teammate2",
                         # The remote holds the team's committed outputs, as pushed before; the producer then
                         # pushes its run with its records.
                         setup=('dvc remote add --local team-rc "$PWD/../run-cache-remote" && '
                                "dvc push --quiet -r team-rc",
                                'cd ../producer && dvc remote add --local -d team "$PWD/../run-cache-remote" && '
                                "dvc push --quiet --run-cache",
                                "git clone -q . ../teammate2", "cp -P .venv ../teammate2/",
                                'cd ../teammate2 && dvc remote add --local -d team "$PWD/../run-cache-remote" && '
                                f"{SET_C}")),
    # A sweep of two short trainings of the network, queued, then shown once the queue is done.
    "queue-sweep": Example(("dvc exp run --queue -S 'train_nn.cnn.epochs=1,2'", "dvc queue start")),
    "queue-show": Example((SHOW_SWEEP,), setup=(WAIT_FOR_THE_QUEUE, "dvc queue stop")),
    # A search of the logistic regression's C (tune.yaml's study), its best against the commit, then resumed.
    "tune-test-objective": Example(("python -m mnist_pipeline.tools.tune logreg",), cwd="../objective",
                                   setup=(*side_clone("../objective"), f"cd ../objective && {TEST_OBJECTIVE}")),
    # The search's first two trials, as it prints them while it runs; "tune" resumes it to its 12.
    "tune-start": Example(("make tune TRIALS=2",), keep=r"^(===|Reproducing|Running stage)"),
    "tune": Example(("make tune",), start=r"^12 trials of study logreg"),
    # tune-logreg-08: the search's best on the validation digits (docs/tuning.md's table); its test digits judge it.
    "tune-compare": Example(("make compare BASE=HEAD NEW=tune-logreg-08",)),
    "tune-resume": Example(("make tune TRIALS=13",), head=4),
    "predict-pictures": Example(("mnist-predict photo.jpg ruled.jpg drawing.png --show seen",), cwd="docs/images"),
    "predict-number": Example(("mnist-predict --number --show seen sticky-note.jpg",), cwd="docs/images"),
    "predict-json": Example(("mnist-predict --json --model nn drawing.png",), cwd="docs/images"),
    "predict-missing-file": Example(("mnist-predict notes.txt",), cwd="docs/images"),
    "predict-unsure": Example(("mnist-predict one-or-seven.png", "mnist-predict blot.png"), cwd="docs/images"),
    "report-head": Example(("head -8 reports/report.md",)),
    "plots-offline": Example(("dvc config plots.html_template", "dvc plots show",
                              "grep -c '<script src=' dvc_plots/index.html")),
    "serve": Example(("mnist-predict --serve",), until=r"^Drawing page at "),
    # A remote of the clone's own (a folder beside it) holding the network, as `dvc push` leaves a team's.
    "release": Example(("make release MODEL=nn VERSION=v1.0.0", "gto show",
                        "mnist-predict --model nn@v1.0.0 docs/images/photo.jpg"),
                       setup=("dvc remote add --local -d team ../remote", "dvc push --quiet models/nn.keras")),
}


class ExampleError(PipelineError):
    """An example could not be generated: an unknown name, or a command that failed unexpectedly."""


def render(name: str, example: Example, outputs: list[str]) -> str:
    """The block a page shows: each command after ``$ `` and its output."""
    lines = []
    for command, output in zip(example.commands, outputs, strict=True):
        lines.append(f"$ {command}")
        text = output.rstrip("\n").splitlines()
        if example.start is not None:
            starts = [i for i, line in enumerate(text) if re.search(example.start, line)]
            if not starts:
                raise ExampleError(f"{name}: `{command}` printed no line matching {example.start!r}")
            text = ["…", *text[starts[0]:]]
        if example.keep is not None:
            kept = []
            for line in text:
                if re.search(example.keep, line):
                    kept.append(line)
                elif kept[-1:] != ["…"]:
                    kept.append("…")
            text = kept
        if example.head is not None and len(text) > example.head:
            text = [*text[:example.head], "…"]
        lines += text
    return "\n".join(lines) + "\n"


def run_example(clone: Path, example: Example) -> list[str]:
    """Run ``example``'s commands in ``clone``; each one's stdout and stderr, as a terminal shows them."""
    env = {**os.environ, "COLUMNS": "120", "XDG_CACHE_HOME": str(clone.parent / "cache")}
    for command in example.setup:
        subprocess.run(command, shell=True, cwd=clone, check=True, env=env, capture_output=True)
    if example.outside_venv:
        env = without_venv(env)
    outputs = []
    for command in example.commands:
        if command.startswith("make "):
            command = "make --no-print-directory " + " ".join(f"-o {path}" for path in BORROWED) + command[4:]
        if example.until is None:
            printed = subprocess.run(command, shell=True, cwd=clone / example.cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env).stdout
        else:
            printed = run_until(command, clone / example.cwd, env, example.until)
        shown = printed.replace(str(clone), "…").replace(str(clone.parent), "…")
        outputs.append(TIMESTAMP.sub("… ", shown))
    return outputs


def without_venv(env: dict[str, str]) -> dict[str, str]:
    """``env`` as a shell that has not activated the project's environment has it."""
    venv = Path(sys.prefix)
    path = [entry for entry in env.get("PATH", "").split(os.pathsep)
            if entry and Path(entry).resolve().parent != venv.resolve()]
    return {**{key: value for key, value in env.items() if key != "VIRTUAL_ENV"}, "PATH": os.pathsep.join(path)}


def run_until(command: str, cwd: Path, env: dict[str, str], until: str, timeout: float = 120) -> str:
    """Run the long-running ``command``; stop it as Ctrl-C does once a line of its output matches ``until``; its
    output up to that line."""
    # Ctrl-C's SIGINT reaches a terminal's foreground programs with its default action, even where this process
    # inherited it ignored (started in the background, as `make docs &` is).
    process = subprocess.Popen(command, shell=True, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    killer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
    killer.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if re.search(until, line):
                break
        else:
            raise ExampleError(f"`{command}` ended, or ran {timeout:.0f} s, without printing a line matching "
                               f"{until!r}:\n{''.join(lines)}")
    finally:
        killer.cancel()
        interrupt(process)
    return "".join(lines)


def interrupt(process: subprocess.Popen, timeout: float = 30, again: float = 1) -> None:
    """Stop ``process`` and what it started as Ctrl-C at a terminal does, pressed again every ``again`` seconds
    while any of them runs; SIGKILL after ``timeout`` seconds.

    Pressed again, since one Ctrl-C may not be enough: a shell that takes it while it starts a command waits for
    the command, which was started after the Ctrl-C and never got it."""
    waited = 0.0
    while waited < timeout:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.communicate(timeout=again)
            return
        except subprocess.TimeoutExpired:
            waited += again
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a program that ignores Ctrl-C
    process.communicate()


def make_clone(root: Path, folder: Path) -> Path:
    """A clone of ``root`` at HEAD in ``folder``, its outputs checked out from ``root``'s DVC cache."""
    clone = folder / "clone"
    subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True)
    (clone / ".venv").symlink_to(root / ".venv")
    subprocess.run(["dvc", "cache", "dir", "--local", str(root / ".dvc" / "cache")], cwd=clone, check=True)
    subprocess.run(["dvc", "checkout", "--quiet"], cwd=clone, check=True)
    return clone


def fill_pages(root: Path, generated: dict[str, str]) -> list[Path]:
    """Replace each marked block of the pages in ``docs/`` with its generated text; the pages changed."""
    changed = []
    for page in sorted((root / DOCS).glob("*.md")):
        text = page.read_text()

        def block(match: re.Match, page=page) -> str:
            name = match.group("name")
            if name not in generated:
                return match.group(0)
            return f"<!-- make docs: {name} -->\n```\n{generated[name]}```"

        new = MARKER.sub(block, text)
        if new != text:
            write_text(page, new)
            changed.append(page)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"examples to generate (default: all: "
                                                                  f"{', '.join(EXAMPLES)})")
    args = parser.parse_args(argv)
    try:
        unknown = sorted(set(args.names) - set(EXAMPLES))
        if unknown:
            raise ExampleError(f"no example {', '.join(unknown)}; the examples are {', '.join(EXAMPLES)}")
        root = find_project_root()
        folder = Path(tempfile.mkdtemp(prefix="mnist-examples-"))
        try:
            clone = make_clone(root, folder)
            generated = {}
            for name in args.names or EXAMPLES:
                print(f"{PROG}: {name}", file=sys.stderr, flush=True)  # noqa: T201
                generated[name] = render(name, EXAMPLES[name], run_example(clone, EXAMPLES[name]))
                write_text(root / OUTPUTS / f"{name}.txt", generated[name])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        for page in fill_pages(root, generated):
            print(f"{PROG}: updated {page.relative_to(root)}", file=sys.stderr)  # noqa: T201
    except (PipelineError, subprocess.CalledProcessError) as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
