"""The reproduction audit's comparison of lock files and metrics (the full rerun is in test_reproducibility.py)."""

import copy
import re

from mnist_pipeline.audit import compare_locks, format_audit, metric_changes

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


def test_only_the_data_stages_are_promised_identical_on_every_cpu():
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
