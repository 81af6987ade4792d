"""Accuracy floors: the default params trained on the full MNIST data, through the real pipeline.

Slow (minutes on 2 cores): run with `make test-slow`. A change that makes a model worse fails here.
"""

import json
import shutil

import pytest
from helpers import OUTPUT_FOLDERS, Project

pytestmark = pytest.mark.slow

# Test-set accuracy the default params must reach (10,000 digits). The logistic regression scores 98.64% on every
# CPU (its kernels are pinned; 95.45% with train_logreg.features: pixels). The CNN's default run scores 99.63% on
# every CPU under the portable profile; its seeds 43 to 45 score 99.49%, 99.59% and 99.61% there, and under the
# fast profile a seed moves by several digits from one kind of CPU to another (bfloat16 sums in AMX tiles on one,
# float32 in AVX2 on another; 99.59% to 99.64% seen, docs/benchmark.md). The floor sits 0.09 points below the
# lowest seed seen. The MLP scored 98.56% and 98.57%, against the 98.5% the benchmark asks of it; its floor leaves
# room for another CPU.
FLOORS = {"logreg": 0.985, "nn": 0.994}
MLP_FLOOR = 0.984


def test_default_params_reach_the_accuracy_floors(default_run):
    metrics = json.loads((default_run.root / "reports/metrics.json").read_text())
    for model, floor in FLOORS.items():
        assert metrics[model]["accuracy"] >= floor, (model, metrics[model]["accuracy"])


def test_mlp_option_reaches_its_floor(default_run, tmp_path, mnist_mirror):
    # The default run's data and outputs in a repository of their own, where only the network changes.
    (tmp_path / "mlp").mkdir()
    project = Project.create(tmp_path / "mlp", mnist_mirror)
    shutil.copy2(default_run.root / "dvc.lock", project.root / "dvc.lock")
    for folder in OUTPUT_FOLDERS:
        shutil.copytree(default_run.root / folder, project.root / folder, dirs_exist_ok=True)
    project.dvc("commit", "--force")  # into this repository's cache; the hashes must be the lock's
    assert "Data and pipelines are up to date." in project.dvc("status").stdout
    assert (project.root / "dvc.lock").read_text() == (default_run.root / "dvc.lock").read_text()
    project.set_params(train_nn={"arch": "mlp"})
    assert project.repro() == {"train_nn", "evaluate", "visualize"}
    metrics = json.loads((project.root / "reports/metrics.json").read_text())
    assert metrics["nn"]["accuracy"] >= MLP_FLOOR
