"""Accuracy floors: the default params trained on the full MNIST data, through the real pipeline.

Slow (minutes on 2 cores): run with `make test-slow`. A change that makes a model worse fails here.
"""

import json

import pytest

pytestmark = pytest.mark.slow

# Test-set accuracy the default params must reach (10,000 digits). The logistic regression scores 95.47% on every
# CPU seen so far; the CNN's seeds score 99.51% to 99.62% (docs/benchmark.md) and one seed moves by a few digits
# from one kind of CPU to another, so its floor sits below the worst seed; the MLP's two seeds scored 98.61% and
# 98.65%, against the 98.5% it must reach.
FLOORS = {"logreg": 0.954, "nn": 0.995}
MLP_FLOOR = 0.985


def test_default_params_reach_the_accuracy_floors(default_run):
    metrics = json.loads((default_run.root / "reports/metrics.json").read_text())
    for model, floor in FLOORS.items():
        assert metrics[model]["accuracy"] >= floor, (model, metrics[model]["accuracy"])


def test_mlp_option_reaches_its_floor(default_run, tmp_path):
    project = default_run.copy(tmp_path / "mlp")
    project.set_params(train_nn={"arch": "mlp"})
    assert project.repro() == {"train_nn", "evaluate", "visualize"}
    metrics = json.loads((project.root / "reports/metrics.json").read_text())
    assert metrics["nn"]["accuracy"] >= MLP_FLOOR
