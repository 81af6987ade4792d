"""Atomic writes and the on-disk form of the pipeline's arrays.

A stage that fails or is killed midway must leave no half-written output, so
everything is written to a temporary sibling and moved into place with
``os.replace``, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mnist_pipeline.errors import ArtifactError
from mnist_pipeline.stable_zip import stable_npz


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it onto ``target``.

    Works for files and directories alike. On error the temporary path is removed
    and ``target`` is left as it was. ``suffix`` keeps an extension that a writer
    insists on (Keras only saves to paths ending in ``.keras``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A writer killed outright (SIGKILL, power loss) cannot clean up: its leftovers go now.
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp = tmp_dir / (target.name + suffix if suffix and not target.name.endswith(suffix) else target.name)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        if tmp.is_dir() and target.is_dir():
            # A directory cannot be renamed over a non-empty one: move the old one aside first.
            old = tmp_dir / ".old"
            os.replace(target, old)
        elif target.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Save named arrays in one compressed ``.npz`` (byte-identical for identical arrays, whatever the Python)."""
    write_bytes(path, stable_npz(arrays))


def load_arrays(path: Path, rebuild: str = "dvc repro --force preprocess") -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` written by :func:`save_arrays`.

    Raises:
        FileNotFoundError: no such file.
        ArtifactError: the file is truncated or not an npz; the message names ``rebuild``, the command that writes
            it again (by default that of the processed data).
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"{path} is not a readable npz ({error}); rebuild it with `{rebuild}` or fetch it "
                            f"again with `dvc pull --force`") from None


def load_json(path: Path):
    """A JSON file the pipeline wrote; :class:`ArtifactError` if it does not parse."""
    text = Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{path} is not valid JSON ({error}); rebuild it with `dvc repro --force`") from None


def load_training_history(log_dir: Path) -> dict[str, np.ndarray]:
    """Per-epoch values from dvclive's TSV files, keyed like ``train/loss`` and ``eval/accuracy``."""
    metrics_dir = Path(log_dir) / "plots" / "metrics"
    history = {}
    for tsv in sorted(metrics_dir.rglob("*.tsv")):
        try:
            table = np.genfromtxt(tsv, delimiter="\t", names=True, ndmin=1)
            values = np.asarray(table[tsv.stem], dtype=float)
        except (ValueError, TypeError, IndexError) as error:
            raise ArtifactError(f"{tsv} is not a dvclive metrics table ({error}); rerun the training with "
                                f"`dvc repro --force train_nn`") from None
        history[tsv.relative_to(metrics_dir).with_suffix("").as_posix()] = values
    if not history:
        raise ArtifactError(f"no training history: {metrics_dir} not found or holds no .tsv file; run "
                            f"`dvc repro train_nn` (or `dvc pull` to fetch it from the remote)")
    return history
