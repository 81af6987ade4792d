"""The page template that `dvc plots show` and `dvc plots diff` fill, with Vega's scripts inside it.

DVC's own page loads vega, vega-lite and vega-embed from a CDN, so without a network its Vega plots stay empty.
This template is DVC's page (``dvc_render.html.PAGE_HTML``) with those scripts replaced by the single script that
the pinned ``vl-convert-python`` package ships (``vl_convert.javascript_bundle()``: vega, vega-lite, vega-embed and
their dependencies as one classic script, no imports, ending with ``window.vegaEmbed = ...``). `make` writes it
into the virtual environment, and ``.dvc/config`` names it as ``plots.html_template``; the script is never copied
into git.

Run as ``python -m mnist_pipeline.tools.plots_page PATH``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import vl_convert
from dvc_render.html import PAGE_HTML

from mnist_pipeline.artifacts import write_bytes

# What DVC replaces in a template, anywhere in its text (dvc_render.html.HTML.embed), and the strings that would
# end or disturb an inline script early in the browser's HTML parser.
PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")
UNSAFE_IN_SCRIPT = ("</script", "<!--")


def offline_template(bundle: str, page: str = PAGE_HTML) -> str:
    """DVC's ``page`` with its ``{scripts}`` replaced by ``bundle`` inline: with no ``{scripts}`` left, DVC has
    nowhere to put the CDN's script tags.

    The bundle is a classic script, so it runs where it stands, before the ``<script>`` in each plot's div that
    calls ``vegaEmbed``; it runs inside a function, so that its hundreds of top-level names stay its own and cannot
    collide with the ``var spec`` those scripts declare (the globals it means to give, ``vegaEmbed``, ``vega`` and
    ``vegaLite``, it assigns to ``window`` itself). The page is declared UTF-8, as DVC writes it: the bundle holds
    non-ASCII characters.

    Raises:
        ValueError: ``page`` has no ``{scripts}``, or ``bundle`` holds a placeholder DVC would fill or a string
            that would break the inline script.
    """
    if "{scripts}" not in page:
        raise ValueError("the page template has no {scripts} placeholder to put the script in")
    found = [text for text in PLACEHOLDERS + UNSAFE_IN_SCRIPT if text in bundle.lower()]
    if found:
        raise ValueError(f"the script bundle holds {', '.join(found)}: it cannot be inlined in DVC's template")
    script = f'<meta charset="utf-8">\n    <script>(() => {{\n{bundle}\n}})();</script>'
    return page.replace("{scripts}", script)


def main(argv: list[str] | None = None) -> None:
    """Write the template to the path given, atomically (a half-written one would be a broken page)."""
    parser = argparse.ArgumentParser(prog="python -m mnist_pipeline.tools.plots_page",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="where to write the template")
    path = parser.parse_args(argv).path
    write_bytes(path, offline_template(vl_convert.javascript_bundle()).encode("utf-8"))


if __name__ == "__main__":
    main()
