"""``make compare``: is the difference in accuracy between two revisions real, or noise of the test set?

Every revision commits each model's prediction for every test digit (``reports/predictions/<model>.csv``), so
two revisions, or two DVC experiments, can be compared digit by digit with no model and no DVC cache:

    $ make compare                     # the workspace against main
    $ make compare BASE=v1.0           # ... against another commit, branch, tag or experiment name
    $ python -m mnist_pipeline.tools.compare HEAD~3 my-experiment --md

For each model it prints both accuracies with their 95% intervals, how many digits each side got right that
the other got wrong, McNemar's exact test p-value and a one-line verdict (:mod:`mnist_pipeline.significance`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import MODEL_NAMES, find_project_root, predictions_file
from mnist_pipeline.predictions import read_predictions
from mnist_pipeline.revisions import Revisions
from mnist_pipeline.significance import PairedComparison, accuracy_interval, compare_predictions
from mnist_pipeline.tables import format_table

PROG = "mnist-compare"
# What DVC calls the workspace among revisions (`dvc plots diff`, `dvc metrics diff`), and so do the tools.
WORKSPACE = "workspace"
MISSING = "evaluate had not run there, or predates committed predictions"


class CompareError(PipelineError):
    """The comparison cannot be made: the predictions of the two sides are not of the same digits."""


@dataclass(frozen=True)
class ModelComparison:
    model: str
    result: PairedComparison


def compare_revisions(revisions: Revisions, base: str, new: str | None,
                      models: tuple[str, ...] = MODEL_NAMES) -> list[ModelComparison]:
    """Each model's paired comparison of ``base`` against ``new`` (None: the workspace).

    Raises:
        RevisionError: a revision or a predictions file is missing.
        CompareError: the two are not for the same test digits.
    """
    comparisons = []
    for model in models:
        path = predictions_file(model)
        base_table = read_predictions(revisions.read_text(base, path, missing=MISSING), f"{path} at {base}")
        new_table = read_predictions(revisions.read_text(new, path, missing=MISSING), f"{path} at {new or WORKSPACE}")
        base_actual, base_predicted = base_table["actual"].to_numpy(), base_table["predicted"].to_numpy()
        new_actual, new_predicted = new_table["actual"].to_numpy(), new_table["predicted"].to_numpy()
        if not np.array_equal(base_actual, new_actual):
            raise CompareError(f"{path} holds predictions for different test digits at {base} and "
                               f"{new or WORKSPACE}: only predictions of the same digits can be paired")
        comparisons.append(ModelComparison(model, compare_predictions(base_actual, base_predicted, new_predicted)))
    return comparisons


def _accuracy(correct: int, total: int) -> str:
    low, high = accuracy_interval(correct, total)
    return f"{correct / total:.2%} ({low:.2%} to {high:.2%})"


def _p_value(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def format_comparison(comparisons: list[ModelComparison], base: str, new: str, markdown: bool = False) -> str:
    """The comparison as an aligned text table, or a markdown one (``make pr-report``), with what it means."""
    total = comparisons[0].result.total
    header = ["model", base, new, f"right only in {base}", f"right only in {new}", "p-value", "verdict"]
    rows = [[c.model, _accuracy(c.result.base_correct, total), _accuracy(c.result.new_correct, total),
             str(c.result.base_only), str(c.result.new_only), _p_value(c.result.p_value),
             c.result.verdict(base, new)] for c in comparisons]
    intro = (f"{new} against {base}: each model on the same {total:,} test digits. Accuracy with its 95% Wilson "
             f"interval; p-value of McNemar's exact test on the digits one side got right and the other wrong.")
    return "\n".join([intro, "", format_table(rows, header, markdown=markdown)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", default="main", help="the revision compared against (default: main)")
    parser.add_argument("new", nargs="?", default=None,
                        help="the revision compared (default: the workspace); commit, branch, tag or experiment")
    parser.add_argument("--md", action="store_true", help="print a markdown table (for a pull request)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        revisions = Revisions(find_project_root())
        comparisons = compare_revisions(revisions, args.base, args.new)
    except PipelineError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)  # noqa: T201
        sys.exit(1)
    print(format_comparison(comparisons, args.base, args.new or WORKSPACE, markdown=args.md))  # noqa: T201


if __name__ == "__main__":
    main()
