"""The train/validation split, and the ``preprocess`` params that set it."""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.model_selection import train_test_split

from mnist_pipeline.digits import N_CLASSES
from mnist_pipeline.params import ParamsError, bounded


@dataclasses.dataclass(frozen=True)
class PreprocessParams:
    """The ``preprocess`` section of params.yaml: the validation split."""

    # The split is stratified: it holds out at least one digit of each class.
    val_size: int = bounded(N_CLASSES, 30_000)
    # Use only the first ``train_limit`` training digits (after the split); 0 keeps all.
    train_limit: int = bounded(0, 60_000)
    seed: int = bounded(0, 2**32 - 1)


def split_train_val(images: np.ndarray, labels: np.ndarray, *, val_size: int, seed: int,
                    train_limit: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``val_size`` samples, stratified by class, for validation.

    Returns ``(x_train, y_train, x_val, y_val)``. ``train_limit`` > 0 keeps only the
    first ``train_limit`` training samples of the shuffled split (for quick runs), and raises
    :class:`~mnist_pipeline.params.ParamsError` where those lack a class.
    """
    if not 0 < val_size < len(labels):
        raise ValueError(f"val_size={val_size} must be between 1 and {len(labels) - 1} (the training set has "
                         f"{len(labels)} samples)")
    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=val_size, random_state=seed, stratify=labels)
    if train_limit:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
        if (classes := len(np.unique(y_train))) < N_CLASSES:
            raise ParamsError(f"preprocess.train_limit = {train_limit} keeps training digits of {classes} of the "
                              f"{N_CLASSES} classes: the models need every class; raise it (0 keeps all)")
    return x_train, y_train, x_val, y_val

