"""Keras models on disk as ``.keras`` files, loaded in safe mode (a Lambda layer's code is refused)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.artifacts import atomic_path
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.stable_zip import stable_keras
from mnist_pipeline.tensorflow_env import import_keras

# At most this many images (a picture's digits, a few files) skip Keras' per-call data pipeline.
FEW_IMAGES = 64


def save_keras(model, path: Path) -> None:
    """Write ``model`` atomically, byte for byte the same for the same weights."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        tmp.write_bytes(stable_keras(tmp.read_bytes()))


def load_keras(path: Path):
    """Load a Keras model in safe mode, without its training configuration."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: train it with `dvc repro` or fetch it with `dvc pull`")
    keras = import_keras()
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many kinds on a corrupt or unsafe file
        raise ModelLoadError(f"{path} is not a loadable Keras model: {error}") from None


def predict_keras(model, images: np.ndarray) -> np.ndarray:
    """A Keras model's class probabilities (n, 10) for (n, 28, 28) raw uint8 images, as float64 rows summing to 1."""
    if len(images) <= FEW_IMAGES:
        # Keras' ``predict`` builds a data pipeline on every call, most of the time a picture or two take;
        # ``predict_on_batch`` runs the compiled function on them as they are.
        rows = model.predict_on_batch(images.astype(np.float32))
    else:
        rows = model.predict(images, batch_size=1000, verbose=0)
    probabilities = np.asarray(rows, dtype=np.float64)
    # float32 softmax rows sum to 1 only to ~1e-7; scikit-learn's log_loss checks more strictly.
    return probabilities / probabilities.sum(axis=1, keepdims=True)
