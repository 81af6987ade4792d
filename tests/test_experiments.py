"""`dvc exp run` and a queued sweep on the tiny configuration, read back with `dvc exp show`."""

import json
import time


def experiments(project) -> list[dict]:
    """Each experiment of the baseline commit: its params and metrics, from `dvc exp show --json`."""
    (baseline,) = json.loads(project.dvc("exp", "show", "--json").stdout)[1:]  # [0] is the workspace
    rows = []
    for experiment in baseline.get("experiments") or []:
        data = experiment["revs"][0]["data"]
        rows.append({
            "name": experiment.get("name"),
            "C": data["params"]["params.yaml"]["data"]["train_logreg"]["C"],
            "metrics": data["metrics"]["reports/metrics.json"]["data"],
        })
    return rows


def test_exp_run_with_a_changed_param_records_its_metrics(project):
    project.dvc("exp", "run", "-n", "strong-l2", "-S", "train_logreg.C=0.1")
    (row,) = [row for row in experiments(project) if row["name"] == "strong-l2"]
    assert row["C"] == 0.1
    # Well above chance: 0.82 at this C, 0.94 at the committed one.
    assert 0.75 <= row["metrics"]["logreg"]["accuracy"] <= 1
    project.git("checkout", "--", ".")
    project.dvc("checkout")


def test_queued_sweep_runs_every_combination_in_its_own_copy(project):
    project.dvc("exp", "run", "--queue", "-S", "train_logreg.C=0.3,3")
    project.dvc("queue", "start", "--jobs", "2")  # both experiments at once, each in its own copy
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = project.dvc("queue", "status").stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(2)
    assert "Failed" not in status, status
    by_c = {row["C"]: row["metrics"] for row in experiments(project)}
    assert {0.3, 3} <= set(by_c)
    assert by_c[0.3]["logreg"]["accuracy"] != by_c[3]["logreg"]["accuracy"]
    assert all(0.75 <= by_c[c]["logreg"]["accuracy"] <= 1 for c in (0.3, 3))  # about 0.89 and 0.93
    # The workspace is untouched: queued experiments run in temporary copies.
    assert not project.git("status", "--porcelain").stdout.strip()
