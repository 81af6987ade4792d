"""Any trained model, whatever its framework: loaded by its file's format, asked for class probabilities.

A model file's suffix picks its safe loader (:mod:`mnist_pipeline.skops_io`, :mod:`mnist_pipeline.keras_io`),
so a model pulled from a remote runs no code. Which models exist is registered once, in
:data:`mnist_pipeline.paths.MODEL_FILES`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_pipeline.digits import flatten
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.keras_io import load_keras, predict_keras
from mnist_pipeline.skops_io import load_skops

LOADERS = {".skops": load_skops, ".keras": load_keras}


def load_model(path: Path):
    """Load the model file ``path`` with the safe loader of its format.

    Raises:
        ModelLoadError: an unknown format, or the file missing, corrupt or untrusted.
    """
    path = Path(path)
    if path.suffix not in LOADERS:
        raise ModelLoadError(f"{path}: unknown model format {path.suffix!r}; the formats are {list(LOADERS)}")
    return LOADERS[path.suffix](path)


def predict_proba(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, 10), rows summing to 1, for (n, 28, 28) raw uint8 images, whichever the model.

    A scikit-learn model (anything with ``predict_proba``) gets flattened pixels; a Keras model the images.
    """
    if hasattr(model, "predict_proba"):
        return model.predict_proba(flatten(images))
    return predict_keras(model, images)
