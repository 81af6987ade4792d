"""What the benchmarks' command lines share: the values their options take, and the pipeline's data they train on.

A count (rounds, steps, requests, seeds, pictures) is a whole number of at least 1, a seed one from 0 to 2^31 - 1; a bad
value is refused as argparse refuses one (the usage, the option and what it takes; exit status 2) before anything is
trained or timed. The benchmarks that train start from ``dvc repro preprocess``'s data, and say so where it is
missing; what the project's own code refuses (no project folder, a model not trained) is one line, not a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np

from mnist_pipeline.artifacts import load_arrays
from mnist_pipeline.errors import ArtifactError, PipelineError
from mnist_pipeline.paths import PROCESSED_DATA


def count(text: str) -> int:
    """``text`` as a count of at least 1 (rounds, steps, requests, seeds, pictures)."""
    value = _whole(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 1, not {text!r}")
    return value


# The largest seed: train_nn.seed's bound in params.yaml, which every generator the benchmarks seed takes.
MAX_SEED = 2**31 - 1


def seed(text: str) -> int:
    """``text`` as a random seed: a whole number from 0 to :data:`MAX_SEED`, as ``train_nn.seed`` takes."""
    value = _whole(text)
    if value is None or not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to {MAX_SEED}, not {text!r}")
    return value


def _whole(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def processed_data() -> dict[str, np.ndarray]:
    """The pipeline's split digits (``data/processed/mnist.npz``).

    Raises:
        ArtifactError: missing (saying what to run) or unreadable; :func:`run` prints it in a line.
    """
    try:
        return load_arrays(PROCESSED_DATA)
    except FileNotFoundError:
        raise ArtifactError(f"{PROCESSED_DATA} is missing: run `dvc repro preprocess` first (in the project's "
                            f"folder)") from None


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run a benchmark's ``main`` as its command: its return value is the exit status; an error the project's code
    raises (:class:`~mnist_pipeline.errors.PipelineError`: no project folder, a model not trained) is one line
    naming the benchmark, exit status 2."""
    try:
        status = main()
    except PipelineError as error:
        print(f"{Path(sys.argv[0]).stem}: error: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(status)
