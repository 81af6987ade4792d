"""``mnist-predict``: classify image files of handwritten digits with the pipeline's trained models.

Each file is read with Pillow, brought to MNIST's form by :mod:`mnist_pipeline.imaging` (any size, colour
or background), and classified by both models, or one (``--model``). The models are the workspace's
(``models/``), another folder's (``--models-dir``) or those of a git revision (``--rev``, through DVC's
cache or remote). Every file is read and checked before any prediction, and each model predicts all files
in one batch.

    $ mnist-predict three.png seven.jpg
    $ mnist-predict --json --rev v1.0 three.png
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mnist_pipeline import paths
from mnist_pipeline.errors import ModelLoadError, PipelineError
from mnist_pipeline.imaging import ImageError, to_mnist
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.tensorflow_env import import_tensorflow

log = logging.getLogger(__name__)

PROG = "mnist-predict"


def model_file(name: str, models_dir: Path | None = None) -> Path:
    """The path of model ``name``: the same file name in ``models_dir`` if given, else in the ``models/`` of the
    project the working directory is in (found upwards, as git and DVC find their repository)."""
    registered = paths.model_file(name)
    if models_dir is not None:
        return Path(models_dir) / registered.name
    return paths.find_project_root() / registered


def load_models(rev: str | None = None, *, models_dir: Path | None = None,
                names: Iterable[str] = paths.MODEL_NAMES) -> dict[str, Any]:
    """Load the models ``names`` once, with the safe loaders of :mod:`mnist_pipeline.model_io`.

    From the ``models/`` of the project around the working directory by default, from ``models_dir`` if
    given, or, with ``rev`` (a git revision: commit, branch, tag), the files DVC tracked at that revision in
    that project, read from its cache or remote into a temporary folder.

    Raises:
        ModelLoadError: a model missing (the message says to run ``dvc repro`` or ``dvc pull``), corrupt
            or untrusted; an unknown revision.
        PipelineError: no ``models_dir`` given and the working directory is in no project.
    """
    names = list(dict.fromkeys(names))
    files = {name: paths.model_file(name) for name in names}  # an unknown name fails before anything loads
    if rev is not None and models_dir is not None:
        raise ValueError("give a git revision or a models folder, not both")
    if rev is None:
        models = {}
        for name in names:
            log.info("loading %s from %s", name, model_file(name, models_dir))
            models[name] = load_model(model_file(name, models_dir))
        return models
    with tempfile.TemporaryDirectory(prefix="mnist-predict-") as folder:
        root = paths.find_project_root()
        return {name: load_model(_fetch_at_revision(root, file, rev, Path(folder))) for name, file in files.items()}


def _fetch_at_revision(root: Path, path: Path, rev: str, folder: Path) -> Path:
    """Copy the DVC-tracked ``path`` (relative to the project ``root``) as it was at ``rev`` into ``folder``,
    keeping its name (Keras wants .keras)."""
    import dvc.api

    relative = path.as_posix()
    target = folder / path.name
    log.info("reading %s at revision %s through DVC", relative, rev)
    try:
        with dvc.api.open(relative, repo=str(root), rev=rev, mode="rb") as source, target.open("wb") as out:
            while chunk := source.read(2**20):
                out.write(chunk)
    except Exception as error:  # DVC raises many kinds: unknown revision, untracked path, not in cache or remote
        reason = str(error).strip() or type(error).__name__
        raise ModelLoadError(f"{relative} at revision {rev!r} could not be read: {reason}; check the revision, "
                             f"and that its models were trained (`dvc repro`) and pushed, or fetch them "
                             f"with `dvc pull`") from None
    return target


def read_image(path: Path) -> np.ndarray:
    """One image file as a (28, 28) uint8 MNIST digit.

    Raises:
        ImageError: naming the file: missing, not an image Pillow can read, truncated, or holding no digit.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return to_mnist(image)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP...)") from None
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None
    except (OSError, ValueError, Image.DecompressionBombError) as error:  # truncated, corrupt, absurdly large
        raise ImageError(f"{path}: cannot read the image: {error}") from None


def read_images(files: Iterable[str | Path]) -> np.ndarray:
    """The image files as one (n, 28, 28) uint8 batch of MNIST digits; the first bad file raises :class:`ImageError`."""
    return np.stack([read_image(Path(file)) for file in files])


def predict_files(files: Iterable[str | Path], models: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Classify each image file with each model: one dict per file and model, in file order then model order.

    Each dict holds ``file`` (as given), ``model``, ``digit`` (int) and ``probability`` (float, the model's
    probability of that digit). All files are read first, so a bad file fails before any prediction; then
    each model predicts every file in one batch.
    """
    files = list(files)
    return predict_images(files, read_images(files), models) if files else []


def predict_images(files: list[str | Path], images: np.ndarray, models: Mapping[str, Any]) -> list[dict[str, Any]]:
    """:func:`predict_files` for images already read: ``images[i]`` is the digit of ``files[i]``."""
    probabilities = {name: predict_proba(model, images) for name, model in models.items()}
    return [
        {"file": str(file), "model": name, "digit": int(np.argmax(probabilities[name][i])),
         "probability": float(np.max(probabilities[name][i]))}
        for i, file in enumerate(files) for name in models
    ]


def format_table(results: list[dict[str, Any]]) -> str:
    """One aligned line per file and model: ``three.png  logreg  3  0.982``."""
    file_width = max((len(row["file"]) for row in results), default=0)
    model_width = max((len(row["model"]) for row in results), default=0)
    return "\n".join(f"{row['file']:<{file_width}}  {row['model']:<{model_width}}  {row['digit']}  "
                     f"{row['probability']:.3f}" for row in results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify images of handwritten digits (PNG, JPEG, ...; any size, dark-on-light or "
                    "light-on-dark) with the pipeline's trained models. Each image is cropped, scaled and "
                    "centred as MNIST's digits were.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="image files, one digit each")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of {file, model, digit, probability} objects")
    parser.add_argument("--model", choices=paths.MODEL_NAMES, help="use only this model (default: both)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--rev", metavar="REV",
                        help="use the models of this git revision (commit, branch, tag), read through DVC")
    source.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="use the models in this folder (logreg.skops, nn.keras) instead of the models/ of "
                             "the project the working directory is in")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is loaded and from where")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The console script: prints one line (or JSON object) per file and model; exit status 2 on an error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s")
    names = [args.model] if args.model else list(paths.MODEL_NAMES)
    try:
        # Images first: a typo in a file name should not wait for TensorFlow to load.
        images = read_images(args.files)
        # TensorFlow's start-up notices would bury the command's own output.
        if not args.verbose and any(paths.model_file(name).suffix == ".keras" for name in names):
            import_tensorflow(hide_startup_notices=True)
        models = load_models(args.rev, models_dir=args.models_dir, names=names)
        results = predict_images(args.files, images, models)
    except PipelineError as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    print(json.dumps(results, indent=2) if args.json else format_table(results))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
