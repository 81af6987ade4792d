"""End to end: the real `dvc repro` on a tiny configuration, in a temporary git + DVC repository (a copy of the
session's tiny run, whose fixture checks that its first `dvc repro` ran every stage)."""

import json

import numpy as np
import pytest
from helpers import locked_out

from mnist_pipeline.app import predict
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.model_io import load_model, predict_proba

OUTPUTS = [
    "data/raw/train-images-idx3-ubyte", "data/raw/t10k-labels-idx1-ubyte", "data/processed/mnist.npz",
    "models/logreg.skops", "models/nn.keras", "reports/train_nn/metrics.json",
    "data/probabilities/logreg.npz", "data/probabilities/nn.npz",
    "reports/metrics.json", "reports/predictions/logreg.csv", "reports/predictions/nn.csv",
    "reports/calibration/logreg.csv", "reports/calibration/nn.csv", "reports/figures/reliability.png",
    "reports/figures/confusion_logreg.png", "reports/figures/misclassified_nn.png",
    "reports/figures/samples_logreg.png", "reports/figures/training_curves_nn.png",
]


def metrics(project) -> dict:
    return json.loads((project.root / "reports/metrics.json").read_text())


def assert_clean(project) -> None:
    assert "up to date" in project.dvc("status").stdout
    assert not project.git("status", "--porcelain").stdout.strip()


def test_full_run_writes_every_output_and_then_nothing_is_stale(project):
    for output in OUTPUTS:
        assert (project.root / output).is_file(), output
    # Well above chance (0.1), below what the run gets (logreg 0.916, nn 0.310 on 1,000 digits: two epochs of a
    # four-filter network learn little, but a network that learned nothing, or labels out of step with the
    # digits, would score about 0.1).
    assert 0.85 <= metrics(project)["logreg"]["accuracy"] <= 1
    assert 0.25 <= metrics(project)["nn"]["accuracy"] <= 1
    assert_clean(project)
    assert project.repro() == set()


def probabilities(models: dict, digits: np.ndarray) -> dict[str, np.ndarray]:
    return {name: predict_proba(model, digits) for name, model in models.items()}


def test_logreg_param_reruns_only_its_training_and_downstream(project, monkeypatch):
    before = metrics(project)
    with np.load(project.root / "data/processed/mnist.npz") as data:
        digits = data["x_test"][:200]
    committed = probabilities({name: load_model(project.root / "models" / file) for name, file in
                               (("logreg", "logreg.skops"), ("nn", "nn.keras"))}, digits)
    project.set_params(train_logreg={"C": 0.0005})
    assert project.repro() == {"train_logreg", "evaluate", "visualize"}

    diff = json.loads(project.dvc("metrics", "diff", "--json").stdout)
    change = diff["reports/metrics.json"]["logreg.accuracy"]
    assert change["old"] == before["logreg"]["accuracy"]
    assert change["new"] == metrics(project)["logreg"]["accuracy"] != change["old"]
    assert "nn.accuracy" not in diff["reports/metrics.json"]  # the network did not retrain
    assert "logreg.accuracy" in project.dvc("metrics", "diff", "--md").stdout

    # `mnist-predict --rev HEAD` reads the committed models through DVC, not the retrained one in the workspace.
    monkeypatch.chdir(project.root / "notebooks")
    at_head = probabilities(predict.load_models("HEAD"), digits)
    head_metrics = json.loads(project.git("show", "HEAD:reports/metrics.json").stdout)
    assert predict.load_models("HEAD").thresholds == {name: head_metrics[name]["sure_threshold"]
                                                      for name in ("logreg", "nn")}
    workspace = probabilities(predict.load_models(), digits)
    for name in ("logreg", "nn"):
        np.testing.assert_array_equal(at_head[name], committed[name])
    assert not np.array_equal(workspace["logreg"], committed["logreg"])
    np.testing.assert_array_equal(workspace["nn"], committed["nn"])
    with pytest.raises(ModelLoadError, match=r"^unknown revision 'no-such-rev': give a commit, branch, tag"):
        predict.load_models("no-such-rev", names=["logreg"])
    # The committed model damaged in the cache, then gone from it (and no remote): each a message saying what to do.
    md5 = locked_out(project.git("show", "HEAD:dvc.lock").stdout, "train_logreg", "models/logreg.skops")["md5"]
    cached = project.root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    original = cached.read_bytes()
    cached.chmod(0o644)
    cached.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ModelLoadError, match=rf"models/logreg\.skops at HEAD has md5 \w+, not the {md5} its dvc\.lock "
                                             r"records: .*`dvc pull`"):
        predict.load_models("HEAD", names=["logreg"])
    cached.unlink()
    with pytest.raises(ModelLoadError, match=rf"models/logreg\.skops at HEAD \(md5 {md5}\) is in neither this "
                                             r"project's DVC cache nor its remote: fetch it with `dvc fetch "
                                             r"--all-commits`"):
        predict.load_models("HEAD", names=["logreg"])
    cached.write_bytes(original)

    # Going back to the committed params restores every output from git and the DVC cache.
    project.git("checkout", "--", ".")
    project.dvc("checkout")
    assert_clean(project)

    # The same change again runs nothing: every stage it reaches comes back from the run-cache, evaluate too
    # (its committed outputs are uncached metrics and plots, which keep the stage's run-cache on).
    project.set_params(train_logreg={"C": 0.0005})
    output = project.run("dvc", "repro").stdout
    for stage in ("train_logreg", "evaluate", "visualize"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in output, output
    assert metrics(project)["logreg"]["accuracy"] == change["new"]
    project.git("checkout", "--", ".")
    project.dvc("checkout")
    assert_clean(project)


def test_visualize_param_reruns_only_visualize(project):
    figure = project.root / "reports/figures/samples_nn.png"
    before = figure.read_bytes()
    project.set_params(visualize={"n_samples": 4})
    assert project.repro() == {"visualize"}
    assert figure.read_bytes() != before
    project.git("checkout", "--", ".")
    project.dvc("checkout")
    assert_clean(project)

