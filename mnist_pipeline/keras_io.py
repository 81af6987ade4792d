"""Keras models on disk as ``.keras`` files, loaded in safe mode (a Lambda layer's code is refused)."""

from __future__ import annotations

from pathlib import Path

from mnist_pipeline.artifacts import atomic_path
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.stable_zip import stable_keras
from mnist_pipeline.tensorflow_env import import_keras


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
