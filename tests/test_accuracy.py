"""Accuracy floors: the default params trained on the full MNIST data, through the real pipeline.

Slow (minutes on 2 cores): run with `make test-slow`. A change that makes a model worse fails here.
"""

import json

import pytest

pytestmark = pytest.mark.slow

# Test-set accuracy the default params must reach (10,000 digits). The logistic regression scores 95.47% on every
# CPU seen so far. The CNN's seeds 42 to 46 score 99.52% to 99.59% on an Intel Xeon in float32 (docs/benchmark.md),
# the recipe before scored 99.48% on the Xeon with AMX in bfloat16, and a seed moves by several digits from one kind
# of CPU to another (bfloat16 sums in AMX tiles on one, in AVX-512 on another), so its floor sits 0.18 points below
# the lowest seen: 0.995 failed a committed seed. The MLP scored 98.56%, against the
# 98.5% the benchmark asks of it; its floor leaves the same room for another CPU.
FLOORS = {"logreg": 0.954, "nn": 0.993}
MLP_FLOOR = 0.984


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
