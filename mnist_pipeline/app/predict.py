"""``mnist-predict``: classify image files of handwritten digits with the pipeline's trained models.

Each file is read with Pillow, brought to MNIST's form by :mod:`mnist_pipeline.app.imaging` (any size, colour
or background), and classified by both models, or one (``--model``). The models are the workspace's
(``models/``), another folder's (``--models-dir``) or those of a git revision (``--rev``, through DVC's
cache or remote). Every file is read and checked before any prediction, and each model predicts all files
in one batch.

    $ mnist-predict three.png seven.jpg
    $ mnist-predict --json --rev v1.0 three.png
    $ mnist-predict --number --show seen/ sticky-note.jpg
    $ mnist-predict --serve
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mnist_pipeline import paths, tables
from mnist_pipeline.app import imaging, segmentation
from mnist_pipeline.app.imaging import ImageError, read_digit, read_number
from mnist_pipeline.app.pictures import open_picture
from mnist_pipeline.app.releases import ModelSpec, fetch_release, parse_spec
from mnist_pipeline.app.verdicts import Models, as_number, judge, read_thresholds, thresholds_of, unsure_note
from mnist_pipeline.artifacts import write_bytes
from mnist_pipeline.errors import ModelLoadError, PipelineError
from mnist_pipeline.model_io import load_model, predict_proba
from mnist_pipeline.process_exit import skip_final_collection
from mnist_pipeline.revisions import RevisionError, Revisions, read_at
from mnist_pipeline.tensorflow_env import configure_environment, import_tensorflow

log = logging.getLogger(__name__)

PROG = "mnist-predict"


def load_models(rev: str | None = None, *, models_dir: Path | None = None,
                names: Iterable[str] = paths.MODEL_NAMES, release: ModelSpec | None = None,
                repo: str | None = None) -> Models:
    """Load the models ``names`` once, with the safe loaders of :mod:`mnist_pipeline.model_io`, and their sure
    thresholds from the ``reports/metrics.json`` of the same revision (:mod:`mnist_pipeline.app.verdicts`).

    From the ``models/`` of the project around the working directory by default, from ``models_dir`` if
    given, or, with ``rev`` (a git revision: commit, branch, tag, experiment), the files DVC tracked at that
    revision in that project, read from its cache or remote into a temporary folder and checked against that
    revision's ``dvc.lock`` (:class:`mnist_pipeline.revisions.Revisions`). With ``release`` (``nn@v1.1.0``,
    ``nn#prod``), that one released model of the project ``repo`` (default: the one around the working
    directory), through the local cache of released models (:func:`mnist_pipeline.app.releases.fetch_release`).
    Beside ``models_dir``, the thresholds are read from ``../reports/metrics.json`` where there is one.

    Raises:
        ModelLoadError: a model missing (the message says to run ``dvc repro`` or ``dvc pull``), corrupt
            or untrusted; an unknown revision.
        PipelineError: no ``models_dir`` given and the working directory is in no project.
    """
    # A picture's answer is no artifact: the networks run on every instruction this CPU has, which a network
    # trained in bfloat16 under the fast profile needs (oneDNN's AVX2 kernels have no bfloat16 ones).
    configure_environment("fast")
    names = list(dict.fromkeys(names))
    files = {name: paths.model_file(name) for name in names}  # an unknown name fails before anything loads
    if sum(source is not None for source in (rev, models_dir, release)) > 1:
        raise ValueError("give a git revision, a models folder or a released model, not more than one")
    if release is not None:
        repo = str(repo or paths.find_project_root())
        path, sha = fetch_release(release, repo)
        try:
            metrics = read_at(repo, sha, paths.METRICS, label=str(release), missing="run `dvc repro` and commit it")
        except RevisionError as error:
            raise ModelLoadError(str(error)) from None
        return Models({release.name: load_model(path)}, read_thresholds(metrics, f"{release}'s metrics", names))
    if rev is None:
        # The project around the working directory, found upwards as git and DVC find their repository.
        root = paths.find_project_root() if models_dir is None else None
        if models_dir is not None and not Path(models_dir).is_dir():
            state = "a file, not a folder" if Path(models_dir).exists() else "no such folder"
            raise ModelLoadError(f"--models-dir {models_dir}: {state}; give the folder holding the models "
                                 f"({', '.join(file.name for file in files.values())})")
        models = {}
        for name, file in files.items():
            path = (root / file) if models_dir is None else Path(models_dir) / file.name
            log.info("loading %s from %s", name, path)
            models[name] = load_model(path)
        metrics = (root / paths.METRICS) if models_dir is None else Path(models_dir).parent / paths.METRICS
        if not metrics.is_file():
            log.warning("no %s: the answers are judged sure or not by the models' agreement alone", metrics)
            return Models(models)
        return Models(models, read_thresholds(metrics.read_text(), str(metrics), names))
    with tempfile.TemporaryDirectory(prefix="mnist-predict-") as folder:
        try:
            revisions = Revisions(paths.find_project_root())
            # Keras wants its file's .keras suffix: each copy keeps its name.
            copies = {name: revisions.fetch_output(rev, file, Path(folder) / file.name) for name, file in files.items()}
            metrics = revisions.read_text(rev, paths.METRICS, missing="run `dvc repro` there and commit its metrics")
        except RevisionError as error:  # its message names the revision, and the file where one is at fault
            raise ModelLoadError(str(error)) from None
        return Models({name: load_model(copy) for name, copy in copies.items()},
                      read_thresholds(metrics, f"{rev}:{paths.METRICS}", names))


def open_image(path: Path):
    """The image file ``path`` as a loaded, upright Pillow image (:func:`~mnist_pipeline.app.pictures.open_picture`).

    Raises:
        ImageError: naming the file: missing, a folder, not an image Pillow can read, truncated or absurdly large.
    """
    try:
        return open_picture(path)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None


def digits_of(path: Path, image) -> tuple[np.ndarray, float, int]:
    """The (1, 28, 28) MNIST digit the models see in ``image`` (read from ``path``), how shaded the paper around it
    is (:func:`~mnist_pipeline.app.imaging.paper_shade`) and how many marks as tall as a digit stand apart from it
    (:func:`~mnist_pipeline.app.imaging.marks_set_apart`). A picture with no digit raises :class:`ImageError` naming
    ``path``."""
    try:
        digit, paper, apart = read_digit(image)
        return digit[None], paper, apart
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None


def number_of(path: Path, image, models: Mapping[str, Any]) -> tuple[np.ndarray, list[segmentation.Outline], float]:
    """The (n, 28, 28) MNIST digits of the number in ``image`` (read from ``path``), left to right, how each was
    outlined, ``models`` judging where digits that touch part, and how shaded the paper around them is
    (:func:`~mnist_pipeline.app.imaging.read_number`). A picture with no digit raises :class:`ImageError` naming
    ``path``."""
    try:
        return read_number(image, number_plausibility(models))
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None


def number_plausibility(models: Mapping[str, Any], lock: AbstractContextManager | None = None):
    """How plausible candidate digits are to ``models``, for :func:`~mnist_pipeline.app.imaging.read_number`:
    every model's probabilities, judged together (:func:`mnist_pipeline.app.segmentation.plausibility`); the
    models predict holding ``lock``."""
    def plausibility(digits: np.ndarray, aspects: np.ndarray) -> np.ndarray:
        with lock or nullcontext():
            probabilities = [predict_proba(model, digits) for model in models.values()]
        return segmentation.plausibility(probabilities, aspects)
    return plausibility


def read_images(files: Iterable[str | Path]) -> tuple[np.ndarray, list[float], list[int]]:
    """The image files as one (n, 28, 28) uint8 batch of MNIST digits, how shaded the paper around each is, and how
    many marks as tall as a digit stand apart from each; the first bad file raises :class:`ImageError`."""
    read = [digits_of(Path(file), open_image(Path(file))) for file in files]
    return np.concatenate([digits for digits, _, _ in read]), [paper for _, paper, _ in read], [a for *_, a in read]


def predict_files(files: Iterable[str | Path], models: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Classify each image file with each model: one dict per file and model, in file order then model order.

    Each dict holds ``file`` (as given), ``model``, ``digit`` (int), ``probability`` (float, the model's
    probability of that digit), ``sure`` and ``candidates`` (the two likeliest digits), and ``why`` for an answer
    that is not sure (:func:`mnist_pipeline.app.verdicts.judge`). All files are read first, so a bad file fails
    before any prediction; then each model predicts every file in one batch.
    """
    files = list(files)
    if not files:
        return []
    digits, papers, apart = read_images(files)
    return predict_images(files, digits, models, papers, apart)


def predict_images(files: list[str | Path], images: np.ndarray, models: Mapping[str, Any],
                   papers: Sequence[float] | None = None, apart: Sequence[int] | None = None
                   ) -> list[dict[str, Any]]:
    """:func:`predict_files` for images already read: ``images[i]`` is the digit of ``files[i]``, ``papers[i]`` how
    shaded the paper around it is and ``apart[i]`` how many marks as tall as a digit stand apart from it (None: not
    known)."""
    answers = judge({name: predict_proba(model, images) for name, model in models.items()}, thresholds_of(models),
                    digits=images, papers=papers, apart=apart)
    return [{"file": str(file), "model": name, **answers[name][i]} for i, file in enumerate(files) for name in models]


def predict_numbers(files: list[str | Path], numbers: list[np.ndarray], models: Mapping[str, Any],
                    outlines: list[list[segmentation.Outline]] | None = None,
                    papers: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """Read whole numbers: ``numbers[i]`` holds the (n, 28, 28) digits of ``files[i]``, left to right, and where
    given, ``outlines[i]`` how each was outlined and ``papers[i]`` how shaded the paper around them is
    (:func:`number_of`).

    One dict per file and model: ``file``, ``model``, ``number`` (the digits as a string), ``sure`` (every digit
    sure) and ``digits``, each digit's answer as :func:`predict_files` gives it. Each model predicts the digits of
    every file in one batch.
    """
    ends = np.cumsum([len(digits) for digits in numbers])
    digits = np.concatenate(numbers)
    answers = judge({name: predict_proba(model, digits) for name, model in models.items()}, thresholds_of(models),
                    None if outlines is None else [o for number in outlines for o in number], digits,
                    None if papers is None else [paper for paper, number in zip(papers, numbers, strict=True)
                                                 for _ in number])
    rows = [(i, {"file": str(file), "model": name, **as_number(answers[name][start:end])})
            for name in models for i, (file, start, end) in enumerate(zip(files, [0, *ends[:-1]], ends, strict=True))]
    # File order (a file given twice, twice), then model order: the sort is stable.
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])]


def format_table(results: list[dict[str, Any]]) -> str:
    """One aligned line per file and model: ``three.png  logreg  3  0.982``, and for an unsure answer its second
    candidate (``not sure: 9 or 5 (0.31)``); for a number ``note.jpg  nn  2026  2:0.99 0:1.00 2:0.97 6:0.95``,
    an unsure digit marked with ``?`` and its second candidate (``6?:0.55/5:0.40``)."""
    rows = []
    for row in results:
        if "number" in row:
            detail = " ".join(_digit_detail(digit) for digit in row["digits"])
            rows.append([row["file"], row["model"], row["number"], detail, "not sure" if row["sure"] is False else ""])
        else:
            rows.append([row["file"], row["model"], row["digit"], f"{row['probability']:.3f}", unsure_note(row)])
    # An empty last column (every answer sure) would leave each line padded with spaces.
    return "\n".join(line.rstrip() for line in tables.format_table(rows).splitlines())


def _digit_detail(digit: dict) -> str:
    if digit["sure"] is not False:
        return f"{digit['digit']}:{digit['probability']:.2f}"
    second = digit["candidates"][1]
    return f"{digit['digit']}?:{digit['probability']:.2f}/{second['digit']}:{second['probability']:.2f}"


def seen_by_the_models(image, digits: np.ndarray, height: int = 112):
    """``image`` next to the 28x28 digits the models received (each scaled up to ``height`` pixels, pixels kept
    square), on a grey strip: what to look at when a guess is wrong."""
    # Through the reading's own conversion: Pillow's would clip a 16-bit or float picture to white or black.
    pixels = np.clip(imaging.picture_pixels(image), 0, 255).astype(np.uint8)
    shown = Image.fromarray(pixels).convert("RGBA")
    shown = shown.resize((max(1, round(shown.width * height / shown.height)), height), Image.Resampling.LANCZOS)
    strip = Image.new("RGB", (shown.width + len(digits) * (height + 8), height), (128, 128, 128))
    strip.paste(shown, (0, 0), shown)
    for i, digit in enumerate(digits):
        strip.paste(Image.fromarray(digit).resize((height, height), Image.Resampling.NEAREST),
                    (shown.width + 8 + i * (height + 8), 0))
    return strip


def seen_names(files: list[Path]) -> list[str]:
    """The name of each file's picture in the ``--show`` folder: ``<name>.seen.png``, and for a name given again
    (the same file twice, or two folders' ``digit.png``) ``<name>.2.seen.png``, ``<name>.3.seen.png``..."""
    names: list[str] = []
    for file in files:
        name, count = Path(file).name, 1
        while (seen := f"{name}.seen.png" if count == 1 else f"{name}.{count}.seen.png") in names:
            count += 1  # a file named like another's second name (7.png.2 beside two 7.png) takes the next free one
        names.append(seen)
    return names


def save_seen(folder: Path, files: list[Path], images: list, digits: list[np.ndarray]) -> None:
    """Write, for each file, ``<folder>/<name>.seen.png`` (:func:`seen_by_the_models`, :func:`seen_names`); atomic,
    one by one. A folder in the way is an error, not replaced."""
    import io

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, image, seen in zip(seen_names(files), images, digits, strict=True):
            if (folder / name).is_dir():
                raise PipelineError(f"cannot write {folder / name}: a folder of that name is in the way")
            buffer = io.BytesIO()
            seen_by_the_models(image, seen).save(buffer, format="PNG")
            write_bytes(folder / name, buffer.getvalue())
    except OSError as error:
        raise PipelineError(f"cannot write the pictures the models saw into {folder}: "
                            f"{error.strerror or error}") from None


def _model_spec(text: str) -> ModelSpec:
    try:
        return parse_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 0 to 65535 (0: any free one), not {text!r}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify pictures of handwritten digits (photos of paper, scans, drawings; PNG, JPEG, ...) "
                    "with the pipeline's trained models. Each picture's ink is separated from the paper, ruled "
                    "lines and specks are removed, and the digit is scaled and centred as MNIST's digits were.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="image files, one digit each "
                        "(or one number each, with --number)")
    parser.add_argument("--number", action="store_true",
                        help="each file holds a number written in a row: read its digits left to right")
    parser.add_argument("--show", type=Path, metavar="DIR",
                        help="write DIR/<file>.seen.png: each picture next to the 28x28 image(s) the models saw")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of {file, model, digit, probability, sure, candidates} objects "
                             "(with --number: {file, model, number, sure, digits})")
    parser.add_argument("--model", type=_model_spec, metavar="MODEL",
                        help=f"use only this model: {' or '.join(paths.MODEL_NAMES)} (default: both), or a released "
                             f"version of one, MODEL@VERSION (nn@v1.1.0) or MODEL#STAGE (nn#prod), downloaded "
                             f"alone from the project's DVC remote")
    parser.add_argument("--repo", metavar="URL",
                        help="with a released --model: the project (a git URL or folder; default: the project the "
                             "working directory is in)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--rev", metavar="REV",
                        help="use the models of this git revision (commit, branch, tag), read through DVC")
    source.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="use the models in this folder (logreg.skops, nn.keras) instead of the models/ of "
                             "the project the working directory is in")
    parser.add_argument("--serve", action="store_true",
                        help="start a local page to draw digits on (or drop photos) and see each model's answer")
    parser.add_argument("--host", default="127.0.0.1", help="with --serve: the address to bind (default: localhost "
                        "only; 0.0.0.0 opens the page to your network)")
    parser.add_argument("--port", type=_port, default=8000,
                        help="with --serve: the port (default: 8000; 0: any free one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is loaded and from where")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The console script: prints one line (or JSON object) per file and model; exit status 2 on an error."""
    skip_final_collection()  # a second sooner back at the prompt, with TensorFlow loaded
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.serve == bool(args.files):
        parser.error("give image files, or --serve for the drawing page")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s")
    # Pillow warns of a picture over 89 megapixels as a possible decompression bomb; the limits that hold are
    # open_picture's (the page's 50 megapixels, and Pillow's own error at twice its warning), so a large photo read
    # on purpose prints its answer, not the warning.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    released = args.model is not None and args.model.released
    if released and (args.rev or args.models_dir):
        parser.error(f"--model {args.model} names its own revision: leave out --rev and --models-dir")
    if args.repo and not released:
        parser.error("--repo goes with a released --model, MODEL@VERSION or MODEL#STAGE")
    if args.show is not None and args.show.exists() and not args.show.is_dir():
        parser.error(f"--show {args.show}: a file, not a folder; give the folder to write the pictures the models saw")
    names = [args.model.name] if args.model else list(paths.MODEL_NAMES)
    try:
        # Images first: a typo in a file name should not wait for TensorFlow to load.
        images = [open_image(file) for file in args.files]
        if not args.number:  # a number's digits are parted with the models' help, so read once they are loaded
            read = [digits_of(file, image) for file, image in zip(args.files, images, strict=True)]
            digits, papers, apart = ([item[part] for item in read] for part in range(3))  # none with --serve
        outlines = None
        if not (args.rev or args.models_dir or released):
            paths.find_project_root()  # run outside any project: said before TensorFlow loads, too
        # TensorFlow's start-up notices would bury the command's own output; --verbose shows them.
        if any(paths.model_file(name).suffix == ".keras" for name in names):
            import_tensorflow(hide_startup_notices=not args.verbose)
        models = load_models(args.rev, models_dir=args.models_dir, names=names,
                             release=args.model if released else None, repo=args.repo)
        if args.serve:
            from mnist_pipeline.app import serve

            serve.run(models, host=args.host, port=args.port)
            return 0
        if args.number:
            read = [number_of(file, image, models) for file, image in zip(args.files, images, strict=True)]
            digits, outlines, papers = (list(part) for part in zip(*read, strict=True))
        if args.show:
            save_seen(args.show, args.files, images, digits)
        results = (predict_numbers(args.files, digits, models, outlines, papers) if args.number
                   else predict_images(args.files, np.concatenate(digits), models, papers, apart))
    except (PipelineError, OSError) as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    print(json.dumps(results, indent=2) if args.json else format_table(results))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
