"""Stage fetch: the four MNIST IDX files, uncompressed and checksum-verified, into data/raw/."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.fetch` in the project root, or run `dvc repro`")

from pathlib import Path

from mnist_pipeline.artifacts import atomic_path
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import PARAMS, RAW_DIR
from mnist_pipeline.sources import FetchParams, default_sources, fetch_mnist
from mnist_pipeline.stage_runner import run_stage


def main(root: Path = Path()) -> None:
    """Fetch into the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "fetch", FetchParams)
    files = fetch_mnist(default_sources(params.mirrors, timeout=params.timeout, retries=params.retries))
    with atomic_path(root / RAW_DIR) as raw_dir:
        raw_dir.mkdir()
        for name, data in files.items():
            (raw_dir / name).write_bytes(data)


if __name__ == "__main__":
    run_stage(main)
