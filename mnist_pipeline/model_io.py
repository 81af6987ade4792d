"""Saving and loading the trained models without pickle, so a model pulled from a remote runs no code.

The scikit-learn pipeline is stored with skops, which rebuilds only types it is told
to trust; the Keras model as a ``.keras`` file, loaded in Keras' safe mode (no lambdas).
Both are saved byte for byte the same for the same model (:mod:`mnist_pipeline.stable_zip`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mnist_pipeline.artifacts import atomic_path, write_bytes
from mnist_pipeline.deskew import Deskew
from mnist_pipeline.digits import flatten
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.stable_zip import stable_keras, stable_skops

# The project's own types a skops file may hold; skops trusts scikit-learn's and NumPy's by default.
TRUSTED_TYPES = [f"{Deskew.__module__}.{Deskew.__qualname__}"]


class ModelLoadError(PipelineError):
    """A model file that is missing, corrupt or asks to run untrusted code."""


def save_logreg(model, path: Path) -> None:
    import skops.io

    write_bytes(path, stable_skops(skops.io.dumps(model)))


def load_logreg(path: Path):
    """Load the scikit-learn pipeline, refusing any type skops does not trust by default."""
    import skops.io

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: train it with `dvc repro train_logreg` or fetch it with `dvc pull`")
    try:
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise ModelLoadError(f"{path} holds types that are not trusted: {untrusted}; refusing to load it")
        return skops.io.load(path, trusted=TRUSTED_TYPES)
    except ModelLoadError:
        raise
    except Exception as error:  # skops raises many kinds on a corrupt file
        raise ModelLoadError(f"{path} is not a valid skops model: {error}") from None


def save_keras(model, path: Path) -> None:
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        tmp.write_bytes(stable_keras(tmp.read_bytes()))


def load_keras(path: Path):
    """Load the Keras model in safe mode (arbitrary code in a Lambda layer is refused)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as in nn.configure_tensorflow
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: train it with `dvc repro train_nn` or fetch it with `dvc pull`")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many kinds on a corrupt or unsafe file
        raise ModelLoadError(f"{path} is not a loadable Keras model: {error}") from None


def load_model(model_name: str, path: Path):
    """Load model ``model_name`` (``logreg`` or ``nn``) from ``path`` with its safe loader."""
    loaders = {"logreg": load_logreg, "nn": load_keras}
    if model_name not in loaders:
        raise ModelLoadError(f"unknown model {model_name!r}; choose from {list(loaders)}")
    return loaders[model_name](path)


def predict_proba(model_name: str, model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, 10) for (n, 28, 28) raw uint8 images, whichever the model."""
    if model_name == "logreg":
        return model.predict_proba(flatten(images))
    probabilities = np.asarray(model.predict(images, batch_size=1000, verbose=0), dtype=np.float64)
    # float32 softmax rows sum to 1 only to ~1e-7; scikit-learn's log_loss checks more strictly.
    return probabilities / probabilities.sum(axis=1, keepdims=True)
