"""Every path the pipeline reads or writes, defined once.

``dvc.yaml`` names the same paths; ``tests/test_dvc_yaml.py`` checks that the two agree.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"

RAW_DIR = ROOT / "data" / "raw"
PROCESSED_DATA = ROOT / "data" / "processed" / "mnist.npz"

MODELS_DIR = ROOT / "models"
LOGREG_MODEL = MODELS_DIR / "logreg.skops"
NN_MODEL = MODELS_DIR / "nn.keras"

REPORTS_DIR = ROOT / "reports"
NN_TRAINING_LOG = REPORTS_DIR / "train_nn"
METRICS = REPORTS_DIR / "metrics.json"
PREDICTIONS_DIR = REPORTS_DIR / "predictions"
FIGURES_DIR = REPORTS_DIR / "figures"
REPORT = REPORTS_DIR / "report.md"

MODEL_FILES = {"logreg": LOGREG_MODEL, "nn": NN_MODEL}
MODEL_NAMES = tuple(MODEL_FILES)


def predictions_file(model_name: str) -> Path:
    """The per-sample predictions of one model, in the layout of DVC's confusion template."""
    return PREDICTIONS_DIR / f"{model_name}.csv"
