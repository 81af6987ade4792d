"""``make mutants``' verdict: every mutant that the unit tests let through is a known equivalent, or the run fails.

mutmut (``[tool.mutmut]`` in ``pyproject.toml``) changes the pure modules one small edit at a time and runs the
unit tests that reach each change. A mutant that no test fails is either a blind spot of the tests or an
equivalent mutant: an edit that changes nothing a caller can see (a float32 computed in float64, whose bits the
tiny run's pinned hashes guard; an argument passed as its own default; a bound a value cannot reach).
``tests/equivalent_mutants.yaml`` lists the equivalent ones, each with the reason no test can tell it from the code.
This tool reads what mutmut found (`mutmut results`, `mutmut show`) and fails on any survivor not listed, and on any
listed edit that no longer survives, so that the list stays what the code's mutants are.

    $ make mutants      # mutmut run, then this verdict
    $ python -m mnist_pipeline.tools.mutants
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.tools.commands import output_of

PROG = "mnist-mutants"
EQUIVALENTS = Path("tests/equivalent_mutants.yaml")


@dataclasses.dataclass(frozen=True)
class Edit:
    """A mutant as an edit: the function it is in (mutmut's name without its number) and the line before and after,
    stripped. Numbers change as a function's code does; the edit itself names the same mutant."""

    function: str
    before: str
    after: str


def statuses(results: str) -> dict[str, str]:
    """Each mutant's status (killed, survived, timeout...), by name, from the output of `mutmut results --all true`."""
    return dict(re.findall(r"^\s*(\S+): (\S.*?)\s*$", results, flags=re.MULTILINE))


def edit_of(name: str, diff: str) -> Edit:
    """The edit of mutant ``name`` from its unified diff (the output of `mutmut show`): its one removed line and its
    one added line."""
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if len(removed) != 1 or len(added) != 1:
        raise PipelineError(f"{name}: expected a diff of one line changed, got {len(removed)} removed and "
                            f"{len(added)} added")
    return Edit(name.rsplit("__mutmut_", 1)[0], removed[0], added[0])


def load_equivalents(path: Path) -> dict[Edit, str]:
    """The listed equivalent mutants, each edit with its reason."""
    try:
        entries = yaml.safe_load(path.read_text())
        return {Edit(entry["function"], entry["before"], entry["after"]): entry["why"] for entry in entries}
    except (OSError, yaml.YAMLError, TypeError, KeyError) as error:
        raise PipelineError(f"{path}: not a list of function, before, after and why ({error})") from None


def verdict(found: list[Edit], equivalents: dict[Edit, str],
            timed_out: Sequence[Edit] = ()) -> tuple[list[Edit], list[Edit]]:
    """The survivors (``found``) that are not listed as equivalent, and the listed edits that no longer survive. A
    listed edit that ran out of time (``timed_out``: one that only makes the code slower, on a loaded machine) is not
    taken as gone."""
    present = set(found) | set(timed_out)
    return [edit for edit in found if edit not in equivalents], [edit for edit in equivalents if edit not in present]


def edits(status: dict[str, str], wanted: str, root: Path) -> list[Edit]:
    """The edits of the mutants whose status is ``wanted``, each shown by `mutmut show`."""
    return [edit_of(name, output_of([sys.executable, "-m", "mutmut", "show", name], root))
            for name, state in status.items() if state == wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS, help=f"the list (default: {EQUIVALENTS})")
    args = parser.parse_args(argv)
    root = Path.cwd()
    try:
        equivalents = load_equivalents(args.equivalents)
        status = statuses(output_of([sys.executable, "-m", "mutmut", "results", "--all", "true"], root))
        found, timed_out = (edits(status, wanted, root) for wanted in ("survived", "timeout"))
    except PipelineError as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    unlisted, gone = verdict(found, equivalents, timed_out)
    # Not run to the end, or run by no test: a blind spot as much as a survivor.
    unsettled = {name: state for name, state in status.items() if state not in ("killed", "timeout", "survived")}
    for name, state in unsettled.items():
        print(f"{PROG}: {state}: {name}")  # noqa: T201
    for edit in unlisted:
        print(f"{PROG}: survived, not a listed equivalent: {edit.function}: `{edit.before}` -> `{edit.after}`")  # noqa: T201
    for edit in gone:
        print(f"{PROG}: listed, no longer survives (remove it from {args.equivalents}): {edit.function}: "  # noqa: T201
              f"`{edit.before}` -> `{edit.after}`")
    killed = sum(state == "killed" for state in status.values())
    print(f"{PROG}: {killed} of {len(status)} mutants killed; {len(found)} survived, "  # noqa: T201
          f"{len(found) - len(unlisted)} of them listed equivalents, {len(unlisted)} unlisted; "
          f"{len(gone)} listed but gone; {len(unsettled)} neither killed nor survived")
    return 1 if unlisted or gone or unsettled else 0


if __name__ == "__main__":
    sys.exit(main())
