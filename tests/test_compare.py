"""`make compare`: two revisions' committed predictions paired digit by digit, in a real git + DVC repository."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_pipeline.paths import MODEL_NAMES, predictions_file
from mnist_pipeline.predictions import predictions_csv
from mnist_pipeline.significance import PairedComparison
from mnist_pipeline.tools.compare import ModelComparison, format_comparison

ACTUAL = np.arange(200) % 10


def write_predictions(root: Path, wrong: dict[str, int]) -> None:
    """Each model's predictions of ACTUAL, wrong on its first ``wrong[model]`` digits."""
    for model in MODEL_NAMES:
        predicted = ACTUAL.copy()
        predicted[:wrong[model]] = (predicted[:wrong[model]] + 1) % 10
        path = root / predictions_file(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(predictions_csv(ACTUAL, np.eye(10)[predicted] * 0.9 + 0.01))


def run(root: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


def compare(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run(root, sys.executable, "-m", "mnist_pipeline.tools.compare", *args)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git + DVC repository whose main commit has logreg wrong on 20 digits and nn on 2; then one commit where
    logreg is wrong on 8 (better) and nn on 3, and an experiment where logreg is wrong on 19."""
    root = tmp_path_factory.mktemp("compare")
    (root / "dvc.yaml").write_text("stages: {}\n")
    for command in (("git", "init", "-q", "-b", "main"), ("dvc", "init", "-q")):
        run(root, *command).check_returncode()
    write_predictions(root, {"logreg": 20, "nn": 2})
    run(root, "git", "add", "-A").check_returncode()
    run(root, "git", "commit", "-qm", "base").check_returncode()
    run(root, "git", "tag", "v1").check_returncode()
    write_predictions(root, {"logreg": 19, "nn": 2})
    run(root, "dvc", "exp", "save", "-n", "one-better").check_returncode()
    write_predictions(root, {"logreg": 8, "nn": 3})
    run(root, "git", "commit", "-qam", "better logreg").check_returncode()
    return root


@pytest.mark.e2e
def test_workspace_against_main_names_the_significant_change(repo):
    write_predictions(repo, {"logreg": 20, "nn": 2})  # the workspace back at main's predictions
    try:
        result = compare(repo, "HEAD")
    finally:
        run(repo, "git", "checkout", "--", ".").check_returncode()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    logreg = next(line for line in lines if line.startswith("logreg"))
    # HEAD got right 12 digits the workspace got wrong, never the other way: p = 2 / 2**12.
    assert logreg.split()[1:12] == ["96.00%", "(92.31%", "to", "97.96%)", "90.00%", "(85.06%", "to", "93.43%)",
                                    "12", "0", "0.0005"]
    assert logreg.endswith("HEAD is better than workspace, significant at 5%")
    nn = next(line for line in lines if line.startswith("nn"))
    assert nn.endswith("no evidence of a difference at 5%")


@pytest.mark.e2e
def test_two_revisions_and_an_experiment_by_name(repo):
    result = compare(repo, "v1", "HEAD", "--md")
    assert result.returncode == 0, result.stderr
    rows = {cells[0]: cells for cells in markdown_rows(result.stdout)}
    assert rows["logreg"] == ["logreg", "90.00% (85.06% to 93.43%)", "96.00% (92.31% to 97.96%)", "0", "12", "0.0005",
                              "HEAD is better than v1, significant at 5%"]
    assert rows["nn"] == ["nn", "99.00% (96.43% to 99.73%)", "98.50% (95.68% to 99.49%)", "1", "0", "1.0000",
                          "no evidence of a difference at 5%"]
    # One digit more right in the experiment than at v1: nothing to conclude.
    result = compare(repo, "v1", "one-better")
    assert result.returncode == 0, result.stderr
    assert "one-better against v1" in result.stdout
    assert "no evidence of a difference at 5%" in result.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(("args", "message"), [
    (("no-such-rev",), "unknown revision 'no-such-rev': give a commit, branch, tag or experiment name"),
    (("HEAD", "HEAD~5"), "unknown revision 'HEAD~5'"),
])
def test_a_revision_that_does_not_exist_is_a_message_not_a_traceback(repo, args, message):
    result = compare(repo, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_predictions_missing_or_of_other_digits_are_refused(tmp_path, repo):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    run(tmp_path, "git", "init", "-q", "-b", "main").check_returncode()
    run(tmp_path, "git", "commit", "-q", "--allow-empty", "-m", "empty").check_returncode()
    write_predictions(tmp_path, {"logreg": 1, "nn": 1})
    result = compare(tmp_path, "main")
    assert result.returncode == 1 and "main has no reports/predictions/logreg.csv" in result.stderr
    run(tmp_path, "git", "add", "-A").check_returncode()
    run(tmp_path, "git", "commit", "-qm", "predictions").check_returncode()
    path = tmp_path / predictions_file("logreg")
    path.write_text(path.read_text().replace("\n0,0,", "\n1,0,", 1))
    result = compare(tmp_path, "main")
    assert result.returncode == 1
    assert "holds predictions for different test digits at main and workspace" in result.stderr
    assert "Traceback" not in result.stderr


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of each line of a markdown table in ``text``, its header's rule left out."""
    lines = [line for line in text.splitlines() if line.startswith("|") and not set(line) <= set("|-")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_format_comparison_text_and_markdown():
    comparisons = [ModelComparison("nn", PairedComparison(total=10_000, base_correct=9955, new_correct=9960,
                                                          base_only=10, new_only=15))]
    text = format_comparison(comparisons, "main", "workspace")
    assert text.splitlines()[0].startswith("workspace against main: each model on the same 10,000 test digits.")
    header, row = text.splitlines()[2:4]
    assert header.split("  ")[0] == "model"
    assert row.split() == ["nn", "99.55%", "(99.40%", "to", "99.66%)", "99.60%", "(99.46%", "to", "99.71%)", "10",
                           "15", "0.4244", "no", "evidence", "of", "a", "difference", "at", "5%"]
    markdown = format_comparison(comparisons, "main", "workspace", markdown=True).splitlines()
    assert markdown_rows(markdown[2]) == [["model", "main", "workspace", "right only in main",
                                           "right only in workspace", "p-value", "verdict"]]
    assert set(markdown[3]) <= set("|-")  # the rule under the header
    assert markdown_rows(markdown[4])[0] == ["nn", "99.55% (99.40% to 99.66%)", "99.60% (99.46% to 99.71%)", "10",
                                             "15", "0.4244", "no evidence of a difference at 5%"]
