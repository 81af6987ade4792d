"""Every path the pipeline reads or writes, defined once, relative to the project root (the folder of dvc.yaml).

DVC runs every stage in the project root, so the stages use these paths as they are. Anything run from
elsewhere (``mnist-predict``) finds the root with :func:`find_project_root`, as git and DVC find their
repository. ``dvc.yaml`` names the same paths; ``tests/test_dvc_yaml.py`` checks that they agree.
"""

from __future__ import annotations

from pathlib import Path

from mnist_pipeline.errors import ModelLoadError, PipelineError

PIPELINE_FILE = Path("dvc.yaml")
PARAMS = Path("params.yaml")

RAW_DIR = Path("data/raw")
PROCESSED_DATA = Path("data/processed/mnist.npz")
# What each model, read back from its file, says of the validation and test digits: its training stage writes
# it, evaluate scores it (mnist_pipeline/probabilities.py).
PROBABILITIES_DIR = Path("data/probabilities")

MODELS_DIR = Path("models")
LOGREG_MODEL = MODELS_DIR / "logreg.skops"
NN_MODEL = MODELS_DIR / "nn.keras"

REPORTS_DIR = Path("reports")
NN_TRAINING_LOG = REPORTS_DIR / "train_nn"
METRICS = REPORTS_DIR / "metrics.json"
PREDICTIONS_DIR = REPORTS_DIR / "predictions"
CALIBRATION_DIR = REPORTS_DIR / "calibration"
FIGURES_DIR = REPORTS_DIR / "figures"
REPORT = REPORTS_DIR / "report.md"

# The model registry: each model family's name and the file its training stage writes, whose suffix picks
# the safe loader (mnist_pipeline.model_io.LOADERS). evaluate, visualize and mnist-predict read only this and
# TRAINING_STAGES.
MODEL_FILES = {"logreg": LOGREG_MODEL, "nn": NN_MODEL}
MODEL_NAMES = tuple(MODEL_FILES)
# The stage that trains each model family; its section of params.yaml has the same name.
TRAINING_STAGES = {"logreg": "train_logreg", "nn": "train_nn"}


def model_file(name: str) -> Path:
    """The file of the registered model ``name``; :class:`ModelLoadError` for a name not in the registry."""
    if name not in MODEL_FILES:
        raise ModelLoadError(f"unknown model {name!r}; the models are {list(MODEL_NAMES)}")
    return MODEL_FILES[name]


def probabilities_file(model_name: str) -> Path:
    """One model's class probabilities for the validation and test digits, as its training stage wrote them."""
    return PROBABILITIES_DIR / f"{model_name}.npz"


def predictions_file(model_name: str) -> Path:
    """The per-sample predictions of one model, in the layout of DVC's confusion template."""
    return PREDICTIONS_DIR / f"{model_name}.csv"


def calibration_file(model_name: str) -> Path:
    """The reliability table of one model: confidence bins with their accuracy (DVC's calibration plot)."""
    return CALIBRATION_DIR / f"{model_name}.csv"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder holding ``dvc.yaml``, from ``start`` (default: the working directory) upwards.

    Raises:
        PipelineError: no such folder, saying where the search started and what to do.
    """
    start = Path.cwd() if start is None else Path(start)
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / PIPELINE_FILE).is_file():
            return folder
    raise PipelineError(f"no {PIPELINE_FILE} in {start.resolve()} or any folder above it: run this inside the "
                        f"pipeline's project folder")
