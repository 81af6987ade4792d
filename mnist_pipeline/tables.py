"""The one printer of the tables people read at a terminal or in a pull request: the app's and the tools'.

Aligned plain text (columns two spaces apart, no rules) or GitHub's markdown, both by ``tabulate``; cells are
printed as given (strings), never reparsed as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tabulate import tabulate


def format_table(rows: Iterable[Sequence[object]], header: Sequence[str] = (), *, markdown: bool = False) -> str:
    """``rows`` under ``header`` (none: no header line), as aligned text or, with ``markdown``, a markdown table."""
    return tabulate([[str(cell) for cell in row] for row in rows], headers=list(header),
                    tablefmt="github" if markdown else "plain", disable_numparse=True)
