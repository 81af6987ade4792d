"""``make pr-report``: the markdown a reviewer reads, and the plots of both sides as images beside it.

Prints, and writes to ``<out>/report.md``: the comparison of the workspace with ``BASE`` (``python -m
mnist_pipeline.tools.compare BASE --md``), ``dvc metrics diff --md`` and ``dvc params diff --md``; then every plot
of ``dvc plots diff BASE`` (confusion matrices, reliability diagrams, training curves, the figures) as PNG files in
``<out>/``, the Vega-Lite ones rendered offline by vl-convert, linked from the markdown. The folder can be attached
to a pull request as it is.

    $ make pr-report BASE=main                   # writes pr-report/report.md and its images
    $ python -m mnist_pipeline.tools.pr_report main --out /tmp/review
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from mnist_pipeline.artifacts import write_bytes, write_text
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import find_project_root
from mnist_pipeline.revisions import Revisions
from mnist_pipeline.tools.commands import output_of
from mnist_pipeline.tools.compare import WORKSPACE, compare_revisions, format_comparison

PROG = "mnist-pr-report"


def slug(text: str) -> str:
    """A file name's stem for a plot id or a revision: letters, digits, '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def plot_images(plots: dict, out: Path) -> list[tuple[str, list[str]]]:
    """Each plot of ``dvc plots diff --json`` (its ``data``) as PNG files in ``out``: Vega-Lite specs rendered,
    images copied. Returns each plot's id and its files' names, in DVC's order."""
    import vl_convert

    shown = []
    for plot_id, items in plots.items():
        files = []
        for item in items:
            if item["type"] == "vega":
                name = f"{slug(plot_id)}.png"
                write_bytes(out / name, vl_convert.vegalite_to_png(vl_spec=item["content"], scale=1))
            elif item["type"] == "image":
                name = f"{slug(plot_id)}_{slug(item['revisions'][0])}.png"
                shutil.copyfile(item["url"], out / name)
            else:
                continue
            files.append(name)
        if files:
            shown.append((plot_id, files))
    return shown


def sides_missing(plots: dict, base: str) -> str:
    """A note naming the plots of ``dvc plots diff --json`` (its ``data``) that show one side only, or "" where each
    shows both: DVC leaves out, with no more than a warning, a side whose files it cannot load."""
    lacking = {side: [plot_id for plot_id, items in plots.items()
                      if not any(side in item.get("revisions", []) for item in items)]
               for side in (base, WORKSPACE)}
    notes = [f"{len(ids)} of {len(plots)} plots have no {side} side ({', '.join(ids)}): new on the other side, or "
             f"files in neither this project's DVC cache nor its remote (`dvc fetch --all-commits`, then run again)"
             for side, ids in lacking.items() if ids]
    return "\n\n".join(f"> {note}" for note in notes)


def render_report(root: Path, base: str, out: Path) -> str:
    """The markdown, its images written to ``out``."""
    comparison = format_comparison(compare_revisions(Revisions(root), base, None), base, WORKSPACE, markdown=True)
    metrics = output_of(["dvc", "metrics", "diff", base, "--md"], root).strip()
    params = output_of(["dvc", "params", "diff", base, "--md"], root).strip()
    sections = [
        f"## Is the change real? Workspace against {base}", "", comparison, "",
        f"## Metrics: workspace against {base}", "", metrics, "",
        f"## Params: workspace against {base}", "", params, "",
        f"## Plots: workspace against {base}", "",
    ]
    with tempfile.TemporaryDirectory(prefix="mnist-pr-report-") as folder:
        plots = json.loads(output_of(["dvc", "plots", "diff", base, "--json", "-o", folder], root))["data"]
        if one_sided := sides_missing(plots, base):
            sections += [one_sided, ""]
        for plot_id, files in plot_images(plots, out):
            sections += [f"### {plot_id}", "", *(f"![{plot_id}: {name}]({name})" for name in files), ""]
    return "\n".join(sections)


def prepare_folder(out: Path) -> list[Path]:
    """Make ``out`` ready for a report: created if new; refused if it holds anything but an earlier report
    (``report.md`` and PNG files) or cannot be written. Returns the earlier report's files, which
    :func:`publish` replaces."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        present = list(out.iterdir())
        report = [path for path in present if path.is_file() and (path.name == "report.md" or path.suffix == ".png")]
        if present and (len(report) < len(present) or not (out / "report.md").is_file()):
            raise PipelineError(f"--out {out} holds more than an earlier report: give a new or empty folder")
    except OSError as error:
        raise PipelineError(f"--out {out}: {error.strerror or error}; give a folder that can be written") from None
    return report


def publish(staged: Path, out: Path, earlier: list[Path]) -> None:
    """Put the report rendered into ``staged`` in ``out``, in place of the ``earlier`` one: none of its images is
    left beside the new ones, and a run that fails or is interrupted before this leaves the earlier one whole."""
    try:
        for path in earlier:
            path.unlink(missing_ok=True)
        for path in sorted(staged.iterdir(), key=lambda path: path.name == "report.md"):  # report.md last
            shutil.move(path, out / path.name)
    except OSError as error:
        raise PipelineError(f"--out {out}: {error.strerror or error}; give a folder that can be written") from None


def _folder(text: str) -> Path:
    if not text.strip():  # Path("") is the current folder: the project's own root
        raise argparse.ArgumentTypeError("empty: give the folder for the report (default: pr-report)")
    return Path(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the revision to compare the workspace with (commit, branch, tag, experiment)")
    parser.add_argument("--out", type=_folder, default=Path("pr-report"),
                        help="the folder for report.md and its images (default: pr-report)")
    args = parser.parse_args(argv)
    try:
        root = find_project_root()
        Revisions(root).resolve(args.base)  # an unknown base refused before anything is written
        earlier = prepare_folder(args.out)
        with tempfile.TemporaryDirectory(prefix="mnist-pr-report-") as staging:
            report = render_report(root, args.base, Path(staging))
            write_text(Path(staging) / "report.md", report)
            publish(Path(staging), args.out, earlier)
    except PipelineError as error:
        parser.exit(2, f"{PROG}: error: {error}\n")
    print(report)  # noqa: T201
    print(f"{PROG}: wrote {args.out / 'report.md'} and its images", file=sys.stderr)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
