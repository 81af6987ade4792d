"""Each stage script's ``main``, run in-process on tiny synthetic inputs in a temporary project folder.

Kedro-style: every stage reads its inputs from the folder it is given and writes its outputs there, so each
one is checked on its own, in seconds, without DVC. Then, for every input a stage declares in dvc.yaml, the
stage is run with that input missing and with it corrupt: it must end with exit status 1 and a message that
names the input, never a traceback, and write nothing.
"""

import functools
import gzip
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO_ROOT, deep_update

from mnist_pipeline import paths
from mnist_pipeline.calibration import expected_calibration_error, read_calibration
from mnist_pipeline.digits import IMAGE_SIDE, N_CLASSES
from mnist_pipeline.idx import to_idx
from mnist_pipeline.keras_io import load_keras
from mnist_pipeline.mnist_files import MNIST_SHA256
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.predictions import read_predictions
from mnist_pipeline.probabilities import load_probabilities
from mnist_pipeline.significance import accuracy_interval
from mnist_pipeline.skops_io import load_skops
from mnist_pipeline.stage_runner import run_stage
from mnist_pipeline.sureness import sure_threshold
from stages import evaluate, fetch, preprocess, train_logreg, train_nn, visualize

# Each stage runs in-process, train_nn with TensorFlow: seconds, in `make test`, not in the
# inner loop.
pytestmark = pytest.mark.heavy

STAGE_MAINS = {"fetch": fetch.main, "preprocess": preprocess.main, "train_logreg": train_logreg.main,
               "train_nn": train_nn.main, "evaluate": evaluate.main, "visualize": visualize.main}
DVC_STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
N_TRAIN, N_TEST, N_VAL = 240, 60, 40
EPOCHS = 6
# Settings for a few hundred synthetic digits; everything else is params.yaml as committed.
SYNTHETIC_PARAMS = {
    "preprocess": {"val_size": N_VAL, "train_limit": 0},
    "train_logreg": {"max_iter": 50},
    "train_nn": {"tta": False, "cnn": {"epochs": EPOCHS, "batch_size": 40, "filters": [4], "dense_units": 8}},
    "visualize": {"n_samples": 10, "n_misclassified": 5, "dpi": 50},
}


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of ten easily told classes (each a fixed bright block), with noise; balanced labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % N_CLASSES
    rng.shuffle(labels)
    images = rng.integers(0, 40, (n, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        row, col = divmod(int(label), 4)
        image[4 + 6 * row:9 + 6 * row, 3 + 6 * col:8 + 6 * col] = 255
    return images, labels


@pytest.fixture(scope="module")
def synthetic_files() -> dict[str, bytes]:
    """The four MNIST files' names holding synthetic IDX data."""
    files = {}
    for prefix, n, seed in (("train", N_TRAIN, 1), ("t10k", N_TEST, 2)):
        images, labels = synthetic_digits(n, seed)
        files[f"{prefix}-images-idx3-ubyte"] = to_idx(images)
        files[f"{prefix}-labels-idx1-ubyte"] = to_idx(labels)
    return files


@pytest.fixture(scope="module")
def stage_env(synthetic_files, tmp_path_factory):
    """For the module: the synthetic files as MNIST's (their checksums and ``MNIST_MIRROR``), and a working
    directory outside every project, so a stage that read the working directory instead of its root would fail."""
    mirror = tmp_path_factory.mktemp("mirror")
    with pytest.MonkeyPatch.context() as patch:
        for name, data in synthetic_files.items():
            (mirror / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
            patch.setitem(MNIST_SHA256, name, hashlib.sha256(data).hexdigest())
        patch.setenv("MNIST_MIRROR", str(mirror))
        patch.chdir(tmp_path_factory.mktemp("elsewhere"))
        yield


def run(stage: str, root: Path) -> None:
    run_stage(functools.partial(STAGE_MAINS[stage], root))


def after(previous: Path, stage: str, tmp_path_factory) -> Path:
    """A copy of the project folder ``previous`` in which ``stage`` has run."""
    root = tmp_path_factory.mktemp(stage)
    shutil.copytree(previous, root, dirs_exist_ok=True)
    run(stage, root)
    return root


@pytest.fixture(scope="module")
def empty_project(stage_env, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    deep_update(params, SYNTHETIC_PARAMS)
    (root / paths.PARAMS).write_text(yaml.safe_dump(params))
    return root


@pytest.fixture(scope="module")
def fetched(empty_project, tmp_path_factory) -> Path:
    return after(empty_project, "fetch", tmp_path_factory)


@pytest.fixture(scope="module")
def preprocessed(fetched, tmp_path_factory) -> Path:
    return after(fetched, "preprocess", tmp_path_factory)


@pytest.fixture(scope="module")
def trained(preprocessed, tmp_path_factory) -> Path:
    root = after(preprocessed, "train_logreg", tmp_path_factory)
    run("train_nn", root)
    return root


@pytest.fixture(scope="module")
def evaluated(trained, tmp_path_factory) -> Path:
    return after(trained, "evaluate", tmp_path_factory)


@pytest.fixture(scope="module")
def visualized(evaluated, tmp_path_factory) -> Path:
    return after(evaluated, "visualize", tmp_path_factory)


def test_fetch_writes_the_four_verified_files(fetched, synthetic_files):
    written = {path.name: path.read_bytes() for path in (fetched / paths.RAW_DIR).iterdir()}
    assert written == synthetic_files


def test_preprocess_splits_train_validation_and_test(preprocessed):
    with np.load(preprocessed / paths.PROCESSED_DATA) as data:
        assert {name: data[name].shape[0] for name in data.files} == {
            "x_train": N_TRAIN - N_VAL, "y_train": N_TRAIN - N_VAL, "x_val": N_VAL, "y_val": N_VAL,
            "x_test": N_TEST, "y_test": N_TEST}
        assert data["x_train"].dtype == np.uint8 and data["x_train"].shape[1:] == (IMAGE_SIDE, IMAGE_SIDE)
        # Stratified: every class is in the validation split, in equal numbers.
        assert np.bincount(data["y_val"], minlength=N_CLASSES).tolist() == [N_VAL // N_CLASSES] * N_CLASSES


def test_train_logreg_writes_a_trusted_model_that_learned_the_classes(trained):
    model = load_skops(trained / paths.LOGREG_MODEL)
    with np.load(trained / paths.PROCESSED_DATA) as data:
        assert model.score(data["x_val"].reshape(N_VAL, -1), data["y_val"]) == 1.0


def test_train_nn_writes_a_safe_model_and_one_curve_point_per_epoch(trained):
    model = load_keras(trained / paths.NN_MODEL)
    assert model.output_shape == (None, N_CLASSES)
    curves = sorted((trained / paths.NN_TRAINING_LOG / "plots" / "metrics").rglob("*.tsv"))
    assert [path.relative_to(trained / paths.NN_TRAINING_LOG).as_posix() for path in curves] == [
        f"plots/metrics/{split}/{metric}.tsv" for split in ("eval", "train") for metric in ("accuracy", "loss")]
    for path in curves:
        assert len(path.read_text().splitlines()) == 1 + EPOCHS, path


def test_each_training_stage_leaves_the_answers_of_the_model_file_it_wrote(trained):
    # What evaluate scores is what the shipped file says, to the bit, not the model as it was in memory.
    with np.load(trained / paths.PROCESSED_DATA) as data:
        labels, images = {"val": data["y_val"], "test": data["y_test"]}, {"val": data["x_val"], "test": data["x_test"]}
    for name, path in paths.MODEL_FILES.items():
        answers = load_probabilities(trained / paths.probabilities_file(name), labels, "-")
        model = load_model(trained / path)
        for split in ("val", "test"):
            assert np.array_equal(answers[split], predict_proba(model, images[split])), (name, split)


def test_evaluate_scores_every_registered_model(evaluated):
    metrics = json.loads((evaluated / paths.METRICS).read_text())
    assert set(metrics) == set(paths.MODEL_NAMES)
    with np.load(evaluated / paths.PROCESSED_DATA) as data:
        x_test, y_test, x_val, y_val = data["x_test"], data["y_test"], data["x_val"], data["y_val"]
    for name in paths.MODEL_NAMES:
        predictions = read_predictions((evaluated / paths.predictions_file(name)).read_text())
        actual, predicted = predictions["actual"].to_numpy(), predictions["predicted"].to_numpy()
        assert actual.tolist() == y_test.tolist()
        assert metrics[name]["accuracy"] == pytest.approx(np.mean(actual == predicted), abs=1e-6)  # rounded to 6 places
        low, high = accuracy_interval(int((actual == predicted).sum()), len(actual))
        assert (metrics[name]["accuracy_ci95_low"], metrics[name]["accuracy_ci95_high"]) == pytest.approx(
            (low, high), abs=1e-6)
        val_predicted = predict_proba(load_model(evaluated / paths.MODEL_FILES[name]), x_val).argmax(axis=1)
        assert metrics[name]["val_accuracy"] == pytest.approx(np.mean(val_predicted == y_val), abs=1e-6)
        table = read_calibration((evaluated / paths.calibration_file(name)).read_text())
        assert table["count"].sum() == len(y_test)
        assert metrics[name]["ece"] == pytest.approx(expected_calibration_error(table), abs=1e-5)
        # The sure threshold is chosen on the validation digits; the test digits report how it does.
        model = load_model(evaluated / paths.MODEL_FILES[name])
        val_probabilities, test_probabilities = predict_proba(model, x_val), predict_proba(model, x_test)
        threshold = max(sure_threshold(val_probabilities.max(axis=1), val_probabilities.argmax(axis=1) == y_val, 0.995),
                        0.95)  # never under evaluate.sure_probability
        assert metrics[name]["sure_threshold"] == pytest.approx(threshold, abs=1e-6)
        sure = test_probabilities.max(axis=1) >= threshold
        assert metrics[name]["sure_share"] == pytest.approx(sure.mean(), abs=1e-6)
        if sure.any():
            assert metrics[name]["sure_accuracy"] == pytest.approx((actual == predicted)[sure].mean(), abs=1e-6)
    assert metrics["logreg"]["accuracy"] == 1.0
    # The network learns the blocks too: 0.70 after six epochs of 200 digits, where one that learned nothing
    # would score about 0.1.
    assert metrics["nn"]["accuracy"] >= 0.5, metrics["nn"]


def test_visualize_draws_every_figure_the_report_links(visualized):
    report = (visualized / paths.REPORT).read_text()
    linked = {line.split("(")[-1].rstrip(")") for line in report.splitlines() if line.startswith("![")}
    drawn = {path.relative_to(visualized / paths.REPORTS_DIR).as_posix()
             for path in (visualized / paths.FIGURES_DIR).iterdir()}
    assert linked == drawn
    assert len(drawn) == 2 + 3 * len(paths.MODEL_NAMES)  # training curves and reliability, 3 per model
    for path in (visualized / paths.FIGURES_DIR).iterdir():
        assert path.read_bytes().startswith(b"\x89PNG"), path


# Each stage's inputs as dvc.yaml declares them (code aside), and the fixture whose folder holds them.
INPUT_FOLDERS = {"fetch": "empty_project", "preprocess": "fetched", "train_logreg": "preprocessed",
                 "train_nn": "preprocessed", "evaluate": "trained", "visualize": "evaluated"}
STAGE_INPUTS = [(stage, dep) for stage in DVC_STAGES
                for dep in [*([paths.PARAMS.as_posix()] if "params" in DVC_STAGES[stage] else []),
                            *DVC_STAGES[stage]["deps"]] if not dep.endswith(".py")]


def test_every_stage_is_run_in_process_here():
    assert set(STAGE_MAINS) == set(INPUT_FOLDERS) == set(DVC_STAGES)


def run_failing(stage: str, root: Path, caplog) -> str:
    """Run ``stage`` in ``root``, expecting exit status 1 and nothing written; return its error message."""
    before = sorted(path.relative_to(root) for path in root.rglob("*"))
    caplog.clear()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exit_info:
        run(stage, root)
    assert exit_info.value.code == 1
    assert sorted(path.relative_to(root) for path in root.rglob("*")) == before
    (message,) = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    return message


def copy_inputs(request, stage: str, tmp_path: Path) -> Path:
    shutil.copytree(request.getfixturevalue(INPUT_FOLDERS[stage]), tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.mark.parametrize(("stage", "missing"), STAGE_INPUTS)
def test_a_missing_input_is_named_in_a_clear_message(request, tmp_path, caplog, stage, missing):
    root = copy_inputs(request, stage, tmp_path)
    target = root / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    message = run_failing(stage, root, caplog)
    assert missing in message and "not found" in message, message


@pytest.mark.parametrize(("stage", "corrupt"), STAGE_INPUTS)
def test_a_corrupt_input_is_named_in_a_clear_message(request, tmp_path, caplog, stage, corrupt):
    root = copy_inputs(request, stage, tmp_path)
    target = root / corrupt
    for path in sorted(target.rglob("*")) if target.is_dir() else [target]:
        if path.is_file():
            path.write_bytes(b"\x00garbage: not what the stage wrote\n")
    message = run_failing(stage, root, caplog)
    assert corrupt in message, message
