"""scikit-learn models on disk with skops, which rebuilds only the types it is told to trust (no pickle)."""

from __future__ import annotations

from pathlib import Path

from mnist_pipeline.artifacts import write_bytes
from mnist_pipeline.deskew import Deskew
from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.scaling import ChunkedStandardScaler
from mnist_pipeline.stable_zip import stable_skops

# The project's own types a skops file may hold; skops trusts scikit-learn's and NumPy's by default.
TRUSTED_TYPES = [f"{kind.__module__}.{kind.__qualname__}" for kind in (Deskew, ChunkedStandardScaler)]


def save_skops(model, path: Path) -> None:
    """Write ``model`` atomically, byte for byte the same for the same model."""
    import skops.io

    write_bytes(path, stable_skops(skops.io.dumps(model)))


def load_skops(path: Path):
    """Load a scikit-learn model, refusing any type outside skops' defaults and :data:`TRUSTED_TYPES`."""
    import skops.io

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: train it with `dvc repro` or fetch it with `dvc pull`")
    try:
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if untrusted:
            raise ModelLoadError(f"{path} holds types that are not trusted: {untrusted}; refusing to load it")
        return skops.io.load(path, trusted=TRUSTED_TYPES)
    except ModelLoadError:
        raise
    except Exception as error:  # skops raises many kinds on a corrupt file
        raise ModelLoadError(f"{path} is not a valid skops model: {error}") from None
