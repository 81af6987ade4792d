"""README is the user's manual: its results table must be the committed metrics, its commands the real ones."""

import json
import re

from helpers import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_results_table_matches_committed_metrics():
    metrics = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())
    rows = re.findall(r"^\| (logreg|nn)\b[^|]*\| ([\d.]+)% \| ([\d.]+) \| ([\d.]+) \|$", README, re.MULTILINE)
    assert {row[0] for row in rows} == set(metrics)
    for model, accuracy, f1, log_loss in rows:
        assert accuracy == f"{metrics[model]['accuracy'] * 100:.2f}"
        assert f1 == f"{metrics[model]['f1_macro']:.4f}"
        assert log_loss == f"{metrics[model]['log_loss']:.4f}"


def test_ci_runs_the_test_command_readme_gives():
    assert "make test " in README and "make repro " in README
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)
