"""`dvc exp run` and a queued sweep on the tiny configuration, read back with `dvc exp show`."""

import json
import subprocess
import time
from pathlib import Path


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


def run_the_queue(project, log: Path, jobs: int = 2) -> str:
    """`dvc queue start --jobs N`, then wait for every queued experiment to end. Returns `dvc queue status`.

    The workers DVC starts keep the output of `dvc queue start` open until they exit, some seconds after the queue
    runs dry: that output goes to ``log``, not to a pipe that would hold the call until then. Each experiment is then
    followed with `dvc queue logs --follow`, which returns as the experiment ends."""
    with log.open("w") as output:
        subprocess.run(["dvc", "queue", "start", "--jobs", str(jobs)], cwd=project.root, env=project.env,
                       stdout=output, stderr=subprocess.STDOUT, check=True, timeout=60)
    tasks = [line.split()[0] for line in project.dvc("queue", "status").stdout.splitlines()
             if "Queued" in line or "Running" in line]
    deadline = time.monotonic() + 300
    for task in tasks:
        # A task no worker has taken yet: DVC says so, and is asked again.
        while "has not been started" in project.dvc("queue", "logs", "--follow", task, check=False).stderr:
            assert time.monotonic() < deadline, f"experiment {task} never started:\n{log.read_text()}"
            time.sleep(0.5)
    status = project.dvc("queue", "status").stdout
    assert "Queued" not in status and "Running" not in status, status
    return status


def test_queued_sweep_runs_every_combination_in_its_own_copy(project, tmp_path):
    project.dvc("exp", "run", "--queue", "-S", "train_logreg.C=0.3,3")
    status = run_the_queue(project, tmp_path / "queue.log")  # both experiments at once, each in its own copy
    assert "Failed" not in status, status
    by_c = {row["C"]: row["metrics"] for row in experiments(project)}
    assert {0.3, 3} <= set(by_c)
    assert by_c[0.3]["logreg"]["accuracy"] != by_c[3]["logreg"]["accuracy"]
    assert all(0.75 <= by_c[c]["logreg"]["accuracy"] <= 1 for c in (0.3, 3))  # about 0.89 and 0.93
    # The workspace is untouched: queued experiments run in temporary copies.
    assert not project.git("status", "--porcelain").stdout.strip()
