"""The reproduction audit's comparison of lock files and metrics (the full rerun is in test_reproducibility.py)."""

import copy
import os
import re
import shutil
import signal
import subprocess

import numpy as np
import pytest

from mnist_pipeline.revisions import RevisionError
from mnist_pipeline.significance import compare_predictions
from mnist_pipeline.tools.audit import (
    DIFFERENT,
    EQUIVALENT,
    FAILED,
    INTERRUPTED,
    SAME,
    audit,
    compare_locks,
    format_audit,
    metric_changes,
    verdict,
)
from mnist_pipeline.tools.compare import ModelComparison

LOCK = {
    "schema": "2.0",
    "stages": {
        "fetch": {"cmd": "python -m stages.fetch", "outs": [{"path": "data/raw", "md5": "a.dir"}]},
        "train_nn": {"cmd": "python -m stages.train_nn",
                     "deps": [{"path": "data/processed/mnist.npz", "md5": "b"}],
                     "outs": [{"path": "models/nn.keras", "md5": "c"}, {"path": "reports/train_nn", "md5": "d.dir"}]},
    },
}


def test_the_same_lock_is_identical_everywhere():
    checks = compare_locks(LOCK, copy.deepcopy(LOCK))
    assert [(check.stage, check.path, check.identical) for check in checks] == [
        ("fetch", "data/raw", True), ("train_nn", "models/nn.keras", True), ("train_nn", "reports/train_nn", True)]
    text = format_audit(checks, [], "header")
    assert "3 of 3 outputs identical." in text and "differs" not in text


def test_a_changed_hash_differs_and_a_missing_output_differs():
    reproduced = copy.deepcopy(LOCK)
    reproduced["stages"]["train_nn"]["outs"][0]["md5"] = "changed"
    del reproduced["stages"]["fetch"]
    checks = {check.path: check for check in compare_locks(LOCK, reproduced)}
    assert not checks["models/nn.keras"].identical
    assert not checks["data/raw"].identical and checks["data/raw"].reproduced is None
    assert checks["reports/train_nn"].identical
    text = format_audit(list(checks.values()), [], "header")
    assert re.search(r"^train_nn +models/nn\.keras +differs \(recorded c, reproduced changed\)  \*$", text, re.M)
    assert re.search(r"^fetch +data/raw +differs \(recorded a\.dir, reproduced nothing\)$", text, re.M)
    assert "1 of 3 outputs identical; 2 differ." in text


def test_only_the_data_stages_are_promised_identical_under_either_profile():
    checks = {check.path: check for check in compare_locks(LOCK, LOCK)}
    assert checks["data/raw"].platform_independent
    assert not checks["models/nn.keras"].platform_independent


def test_metric_changes_name_each_changed_value_from_dvc_metrics_diff():
    # What `dvc metrics diff --json` prints for a workspace whose metrics moved from the committed ones.
    diff = {"reports/metrics.json": {"nn.recall.3": {"old": 0.98, "new": 0.97, "diff": -0.01},
                                     "nn.accuracy": {"old": 0.99, "new": 0.991, "diff": 0.001}}}
    assert metric_changes(diff) == [("nn.accuracy", 0.99, 0.991), ("nn.recall.3", 0.98, 0.97)]
    assert metric_changes({}) == []
    text = format_audit(compare_locks(LOCK, LOCK), metric_changes(diff), "header")
    assert "nn.accuracy: 0.99 -> 0.991" in text


def checks_with(differing: set[str]) -> list:
    reproduced = copy.deepcopy(LOCK)
    for stage in reproduced["stages"].values():
        for out in stage["outs"]:
            if out["path"] in differing:
                out["md5"] = "changed"
    return compare_locks(LOCK, reproduced)


def paired(recorded_only: int, reproduced_only: int, total: int = 1000) -> list[ModelComparison]:
    """A model whose recorded and reproduced predictions disagree on that many digits, each side right on its own."""
    actual = np.zeros(total, dtype=int)
    recorded, reproduced = actual.copy(), actual.copy()
    reproduced[:recorded_only] = 1
    recorded[recorded_only:recorded_only + reproduced_only] = 1
    return [ModelComparison("nn", compare_predictions(actual, recorded, reproduced))]


def test_the_verdict_is_same_bytes_only_when_every_output_is_identical():
    assert verdict(checks_with(set()), None) == ("same bytes", SAME)


def test_different_model_bytes_with_predictions_that_split_evenly_are_equivalent():
    # 8 digits against 9, as between two kinds of CPU: McNemar's p = 1.0.
    summary, status = verdict(checks_with({"models/nn.keras"}), paired(8, 9))
    assert (summary, status) == ("different bytes, no evidence of a different model (p = 1)", EQUIVALENT)


def test_predictions_that_split_unevenly_are_a_different_model():
    summary, status = verdict(checks_with({"models/nn.keras"}), paired(0, 20))
    assert status == DIFFERENT
    assert summary == "different model: nn (p = 1.9e-06)"


def test_different_data_is_different_whatever_the_predictions_say():
    summary, status = verdict(checks_with({"data/raw", "models/nn.keras"}), paired(0, 0))
    assert (summary, status) == ("different data: data/raw must be the same on every machine", DIFFERENT)


def test_different_bytes_without_recorded_predictions_cannot_be_called_equivalent():
    summary, status = verdict(checks_with({"models/nn.keras"}), None)
    assert status == DIFFERENT and "no recorded predictions" in summary


def test_the_exit_statuses_are_distinct():
    assert len({SAME, EQUIVALENT, FAILED, DIFFERENT, INTERRUPTED}) == 5 and SAME == 0


def test_an_unknown_revision_is_refused_before_any_clone(tmp_path):
    repo, workdir = tmp_path / "repo", tmp_path / "work"
    workdir.mkdir()
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    subprocess.run(["git", "commit", "--quiet", "--allow-empty", "-m", "one"], cwd=repo, check=True)
    for rev in ("nosuch", "--help"):  # the second would be an option to git, were it passed on as a name
        with pytest.raises(RevisionError, match=f"unknown revision '{re.escape(rev)}': give a commit, branch, tag"):
            audit(repo, rev, workdir)
    for rev, message in (("", "an empty revision: give a commit"), (" ", "an empty revision"),
                         ("HEAD^{tree}", r"'HEAD\^\{tree\}' names no commit: give a commit"),
                         ("HEAD", r"HEAD has no dvc\.lock: its pipeline had not run \(`dvc repro`\)")):
        with pytest.raises(RevisionError, match=message):
            audit(repo, rev, workdir)
    assert not any(workdir.iterdir())


@pytest.mark.parametrize("keep", [False, True])
def test_a_sigterm_ends_the_audit_as_ctrl_c_does_and_removes_its_clone(tmp_path, monkeypatch, capsys, keep):
    from mnist_pipeline.tools import audit as audit_tool

    folders = []

    def terminated(root, rev, workdir):  # a `timeout` or a cancelled CI job, while the stages run
        folders.append(workdir)
        (workdir / "clone").mkdir()
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not interrupt")

    monkeypatch.setattr(audit_tool, "find_project_root", lambda: tmp_path)
    monkeypatch.setattr(audit_tool, "audit", terminated)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_:
        audit_tool.main(["--keep"] if keep else [])
    assert exit_.value.code == INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err.endswith(f"mnist-audit: interrupted; {'the clone is kept' if keep else 'nothing kept'}\n")
    assert "Traceback" not in err
    assert folders[0].exists() == keep
    shutil.rmtree(folders[0], ignore_errors=True)
    assert signal.getsignal(signal.SIGTERM) is handler  # the caller's handler back


def test_the_machine_is_named_by_its_first_processors_model_and_the_cores_the_process_may_use(tmp_path, monkeypatch):
    from mnist_pipeline.tools import audit

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n\nprocessor\t: 1\nmodel name\t: Other\n")
    monkeypatch.setattr(audit, "CPUINFO", cpuinfo)
    monkeypatch.setattr(audit.os, "sched_getaffinity", lambda pid: {0, 5, 7})
    assert audit.describe_machine() == f"Test CPU 9000 ({audit.platform.machine()}, 3 cores)"
    monkeypatch.setattr(audit, "CPUINFO", tmp_path / "missing")  # no /proc: the platform's own name
    assert audit.describe_machine().endswith(f"({audit.platform.machine()}, 3 cores)")
