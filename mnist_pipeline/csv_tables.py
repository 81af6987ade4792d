"""The CSV tables evaluate writes (predictions, calibration) and the readers that check them."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from mnist_pipeline.errors import ArtifactError


def to_csv(table: pd.DataFrame, decimals: int) -> str:
    """``table`` as CSV text: a header line, one line a row, floats to ``decimals`` places, ``\n`` line ends."""
    return table.to_csv(index=False, float_format=f"%.{decimals}f", lineterminator="\n")


def read_csv_table(text: str, columns: list[str], source: str | Path, kind: str) -> pd.DataFrame:
    """The rows of numbers under the header ``columns`` in a CSV that evaluate wrote.

    Raises:
        ArtifactError: naming ``source`` and what it should have been (``kind``), if it is not such a table.
    """
    header = ",".join(columns)
    try:
        if text.split("\n", 1)[0] != header:
            raise ValueError(f"the first line is not {header!r}")
        table = pd.read_csv(io.StringIO(text))
        if table.empty:
            raise ValueError("no rows")
        if table.isna().any().any() or not all(pd.api.types.is_numeric_dtype(dtype) for dtype in table.dtypes):
            raise ValueError(f"expected rows of {len(columns)} numbers")
    except (ValueError, pd.errors.ParserError) as error:
        raise ArtifactError(f"{source} is not a {kind} ({error}); rebuild it with "
                            f"`dvc repro --force evaluate`") from None
    return table
