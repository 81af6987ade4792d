"""Stage preprocess: checked IDX files into one compact npz with train, validation and test splits."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.preprocess` in the project root, or run `dvc repro`")

import logging
from pathlib import Path

from mnist_pipeline.artifacts import save_arrays
from mnist_pipeline.dataset import PreprocessParams, split_train_val
from mnist_pipeline.idx import check_pair, parse_images, parse_labels
from mnist_pipeline.mnist_files import MNIST_SHA256, ChecksumError, verify
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS, PROCESSED_DATA, RAW_DIR
from mnist_pipeline.stage_runner import run_stage

log = logging.getLogger(__name__)


def main(root: Path = Path()) -> None:
    """Preprocess in the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "preprocess", PreprocessParams)
    # A file corrupted since fetch is caught here, before anything trains on it.
    try:
        raw = {name: verify(name, (root / RAW_DIR / name).read_bytes(), source=root / RAW_DIR / name)
               for name in MNIST_SHA256}
    except ChecksumError as error:
        raise ChecksumError(f"{error}; the file changed since `fetch` wrote it: restore it with `dvc checkout "
                            f"{RAW_DIR.as_posix()}` or fetch it again with `dvc repro --force fetch`") from None
    splits = {}
    for prefix, key in (("train", "train"), ("t10k", "test")):
        images = parse_images(raw[f"{prefix}-images-idx3-ubyte"], name=f"{prefix}-images-idx3-ubyte")
        labels = parse_labels(raw[f"{prefix}-labels-idx1-ubyte"], name=f"{prefix}-labels-idx1-ubyte")
        check_pair(images, labels, name=prefix)
        splits[key] = images, labels
    x_train, y_train, x_val, y_val = split_train_val(
        *splits["train"], val_size=params.val_size, seed=params.seed, train_limit=params.train_limit)
    x_test, y_test = splits["test"]
    log.info("train %d, validation %d, test %d digits", len(y_train), len(y_val), len(y_test))
    save_arrays(root / PROCESSED_DATA, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                x_test=x_test, y_test=y_test)


if __name__ == "__main__":
    run_stage(main)
