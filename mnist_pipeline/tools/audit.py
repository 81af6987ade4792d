"""``make audit``: rerun the whole pipeline from nothing in a temporary clone and compare every output with dvc.lock.

The committed ``dvc.lock`` records the hash of every output of the run that produced it. A fresh clone of
the revision, with no DVC cache and no run-cache, reruns every stage; each output's new hash is then
"identical" to the recorded one or it "differs". Under ``train_nn.compute: portable`` (the default) every
output must come out identical on any x86-64 CPU with AVX2; under ``fast`` the float results are the kind of
CPU's own, and the raw and processed data must be identical everywhere.

Where outputs differ, the audit also says whether the difference matters: each model's recorded predictions
(committed at the revision) against the reproduced ones, digit by digit, with both accuracies' intervals and
McNemar's exact test (:mod:`mnist_pipeline.tools.compare`), and one verdict. The exit status says which:

    0  same bytes
    1  different bytes, no evidence of a different model
    2  the audit could not run
    3  a different model, or different data
    130  interrupted (Ctrl-C, SIGTERM or SIGHUP): the stage stopped, the clone removed unless --keep

    $ make audit                 # HEAD of the project around the working directory
    $ python -m mnist_pipeline.tools.audit --rev v1.0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from mnist_pipeline.cpu import CPUINFO, cpuinfo_fields
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.interrupts import interrupts_as_ctrl_c
from mnist_pipeline.paths import find_project_root
from mnist_pipeline.revisions import LOCK_FILE, Revisions
from mnist_pipeline.significance import ALPHA
from mnist_pipeline.tables import format_table
from mnist_pipeline.tools.commands import output_of, run_interruptible
from mnist_pipeline.tools.compare import ModelComparison, compare_revisions, format_comparison

PROG = "mnist-audit"
# Stages whose outputs are integers copied or reordered, never float arithmetic: the same on every machine.
PLATFORM_INDEPENDENT_STAGES = ("fetch", "preprocess")
SAME, EQUIVALENT, FAILED, DIFFERENT = 0, 1, 2, 3
INTERRUPTED = 130  # as a shell reports a command that Ctrl-C stopped


class AuditError(PipelineError):
    """The audit itself could not run: no such revision, a clone or a stage that failed."""


@dataclass(frozen=True)
class OutputCheck:
    stage: str
    path: str
    recorded: str | None
    reproduced: str | None

    @property
    def identical(self) -> bool:
        return self.recorded is not None and self.recorded == self.reproduced

    @property
    def platform_independent(self) -> bool:
        return self.stage in PLATFORM_INDEPENDENT_STAGES


def output_hashes(lock: dict) -> dict[str, tuple[str, str]]:
    """Every output in a parsed ``dvc.lock``: path to ``(stage, md5)``; a folder's md5 ends in ``.dir``."""
    return {out["path"]: (stage, out.get("md5")) for stage, entry in lock.get("stages", {}).items()
            for out in entry.get("outs", [])}


def compare_locks(recorded: dict, reproduced: dict) -> list[OutputCheck]:
    """Each output of either lock file, in the recorded lock's order, with both hashes (None where absent)."""
    old, new = output_hashes(recorded), output_hashes(reproduced)
    paths = list(old) + [path for path in new if path not in old]
    return [OutputCheck(stage=(old.get(path) or new[path])[0], path=path,
                        recorded=old.get(path, (None, None))[1], reproduced=new.get(path, (None, None))[1])
            for path in paths]


def metric_changes(metrics_diff: dict) -> list[tuple[str, object, object]]:
    """``(name, recorded, reproduced)`` for every changed metric in the output of `dvc metrics diff --json`."""
    return [(name, change.get("old"), change.get("new"))
            for file_changes in metrics_diff.values() for name, change in sorted(file_changes.items())]


def verdict(checks: list[OutputCheck], comparisons: list[ModelComparison] | None, alpha: float = ALPHA
            ) -> tuple[str, int]:
    """The audit's one-line verdict and exit status: the same bytes, an equivalent model, or a different one.

    ``comparisons`` are the models' recorded against reproduced predictions (None: they could not be read).
    """
    differing = [check for check in checks if not check.identical]
    if not differing:
        return "same bytes", SAME
    data = [check.path for check in differing if check.platform_independent]
    if data:
        return f"different data: {', '.join(data)} must be the same on every machine", DIFFERENT
    if comparisons is None:
        return "different bytes, and no recorded predictions to tell whether the models differ", DIFFERENT
    p_values = {comparison.model: comparison.result.p_value for comparison in comparisons}
    different = [f"{model} (p = {p:.2g})" for model, p in p_values.items() if p < alpha]
    if different:
        return f"different model: {', '.join(different)}", DIFFERENT
    return f"different bytes, no evidence of a different model (p = {min(p_values.values()):.2g})", EQUIVALENT


def format_audit(checks: list[OutputCheck], changes: list[tuple[str, object, object]], header: str) -> str:
    rows = []
    for check in checks:
        result = "identical" if check.identical else "differs"
        if not check.identical:
            result += f" (recorded {check.recorded or 'nothing'}, reproduced {check.reproduced or 'nothing'})"
        rows.append([check.stage, check.path, result + ("" if check.platform_independent else "  *")])
    lines = [header, "", format_table(rows, ["stage", "output", "result"])]
    lines += ["", f"* float results: identical on any x86-64 CPU with AVX2 under train_nn.compute: portable, this "
                  f"kind of CPU's own under fast. The outputs of {' and '.join(PLATFORM_INDEPENDENT_STAGES)} must "
                  f"be identical everywhere."]
    if changes:
        lines += ["", "Metric changes (recorded -> reproduced):"]
        lines += [f"  {name}: {old} -> {new}" for name, old, new in changes]
    differing = [check for check in checks if not check.identical]
    lines += ["", f"{len(checks) - len(differing)} of {len(checks)} outputs identical"
                  + ("." if not differing else f"; {len(differing)} differ.")]
    return "\n".join(lines)


def describe_machine() -> str:
    """The processor model, architecture and the cores this process may use: what float results and times depend
    on."""
    try:
        model = cpuinfo_fields(CPUINFO.read_text()).get("model name")
    except OSError:  # no /proc: not Linux
        model = None
    return (f"{model or platform.processor() or platform.machine()} ({platform.machine()}, "
            f"{len(os.sched_getaffinity(0))} cores)")


@dataclass(frozen=True)
class AuditResult:
    commit: str
    checks: list[OutputCheck]
    changes: list[tuple[str, object, object]]
    comparisons: list[ModelComparison] | None  # recorded against reproduced predictions; None: none recorded


def audit(root: Path, rev: str, workdir: Path) -> AuditResult:
    """Clone ``root`` at ``rev`` into ``workdir``, run every stage there, and compare with its dvc.lock."""
    revisions = Revisions(root)
    sha = revisions.resolve(rev)  # an unknown one, or one with no run recorded, refused before the clone
    recorded_lock = yaml.safe_load(revisions.read_text(
        rev, LOCK_FILE, missing="its pipeline had not run (`dvc repro`), so there is nothing to compare with; give "
                                "a revision whose run was committed"))
    clone = workdir / "clone"
    output_of(["git", "clone", "--quiet", "--no-hardlinks", str(root), str(clone)], root)
    # The commit, not the name: a remote-tracking branch or an experiment of ``root`` is no branch of the clone.
    output_of(["git", "checkout", "--quiet", "--detach", sha], clone)
    commit = output_of(["git", "rev-parse", "--short", "HEAD"], clone).strip()
    # No run-cache: every stage really runs, even where a shared cache knows the answer. Interrupted, DVC and the
    # stage it runs are stopped as Ctrl-C at a terminal stops them, before the clone is removed under them.
    repro = ["dvc", "repro", "--force", "--no-run-cache"]
    if status := run_interruptible(repro, clone, stdout=sys.stderr):
        raise AuditError(f"`{' '.join(repro)}` failed (exit {status}) in {clone}")
    reproduced_lock = yaml.safe_load((clone / "dvc.lock").read_text())
    # The metrics are committed to git: DVC compares the rerun's with the recorded ones.
    metrics_diff = json.loads(output_of(["dvc", "metrics", "diff", "--json"], clone) or "{}")
    # So are the predictions: the revision's against the rerun's in the clone's workspace.
    try:
        comparisons = compare_revisions(Revisions(clone), "HEAD", None)
    except PipelineError:
        comparisons = None
    return AuditResult(commit, compare_locks(recorded_lock, reproduced_lock), metric_changes(metrics_diff),
                       comparisons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the revision to audit (default: HEAD; uncommitted "
                                                      "changes are not part of it)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone and say where it is")
    args = parser.parse_args(argv)
    # Ctrl-C, a `timeout`, a cancelled CI job, `kill` or a closed terminal: the stage it runs stopped, the clone
    # removed.
    try:
        root = find_project_root()
        workdir = Path(tempfile.mkdtemp(prefix="mnist-audit-"))
        try:
            with interrupts_as_ctrl_c():
                result = audit(root, args.rev, workdir)
        finally:
            if args.keep:
                print(f"{PROG}: the clone is in {workdir / 'clone'}", file=sys.stderr)  # noqa: T201
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    except PipelineError as error:
        parser.exit(FAILED, f"{PROG}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(INTERRUPTED, f"{PROG}: interrupted; {'the clone is kept' if args.keep else 'nothing kept'}\n")
    # A name that stays true (a tag, a branch at the time) beside the commit; not HEAD, which moves on.
    named = f" ({args.rev})" if args.rev != "HEAD" and not result.commit.startswith(args.rev) else ""
    header = (f"Reproduction audit of {result.commit}{named}, every stage rerun in a fresh clone on "
              f"{describe_machine()}")
    print(format_audit(result.checks, result.changes, header))  # noqa: T201
    summary, status = verdict(result.checks, result.comparisons)
    if status != SAME and result.comparisons:
        print()  # noqa: T201
        print(format_comparison(result.comparisons, "recorded", "reproduced"))  # noqa: T201
    print(f"\nVerdict: {summary}.")  # noqa: T201
    return status


if __name__ == "__main__":
    sys.exit(main())
