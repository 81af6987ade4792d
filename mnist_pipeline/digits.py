"""What an MNIST digit is: a 28x28 grey image of one of ten classes.

Shared by almost every stage, so it holds these facts only: an edit elsewhere must not rerun the pipeline.
"""

from __future__ import annotations

import numpy as np

IMAGE_SIDE = 28
N_CLASSES = 10


def flatten(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) images as the (n, 784) rows the scikit-learn model takes."""
    return images.reshape(len(images), -1)
