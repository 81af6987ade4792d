"""The pull-request report's folder: made for it, an earlier report replaced whole, anything else left alone.
(The report itself, rendered from a real pipeline's two commits: tests/test_release.py.)"""

import pytest

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.tools.pr_report import main, prepare_folder, publish, sides_missing


def test_a_new_folder_is_made_and_an_earlier_report_is_replaced_whole_once_the_new_one_is_ready(tmp_path):
    out, staged = tmp_path / "a" / "review", tmp_path / "staged"
    assert prepare_folder(out) == [] and out.is_dir() and not any(out.iterdir())
    for name in ("report.md", "training_loss.png", "reports_figures_confusion_nn_png_main.png"):
        (out / name).write_text("earlier")
    earlier = prepare_folder(out)
    assert sorted(path.name for path in out.iterdir()) == sorted(path.name for path in earlier)  # kept until then
    staged.mkdir()
    for name in ("report.md", "training_loss.png", "reports_figures_confusion_nn_png_HEAD_1.png"):
        (staged / name).write_text("new")
    publish(staged, out, earlier)
    assert sorted(path.name for path in out.iterdir()) == [  # no image of the earlier base left beside the new
        "report.md", "reports_figures_confusion_nn_png_HEAD_1.png", "training_loss.png"]
    assert {path.read_text() for path in out.iterdir()} == {"new"} and not any(staged.iterdir())


@pytest.mark.parametrize("files", [["notes.txt"], ["photo.png"], ["report.md", "notes.txt"]])
def test_a_folder_holding_more_than_an_earlier_report_is_refused_and_left_as_it_was(tmp_path, files):
    for name in files:
        (tmp_path / name).write_text("mine")
    with pytest.raises(PipelineError, match=r"holds more than an earlier report: give a new or empty folder"):
        prepare_folder(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(files)


def test_a_folder_that_cannot_be_made_is_refused_in_a_line(tmp_path):
    (tmp_path / "file").write_text("")
    for out in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(PipelineError, match=rf"^--out {out}: .*; give a folder that can be written$"):
            prepare_folder(out)


def test_an_empty_out_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["main", "--out", ""])
    assert exit_.value.code == 2 and "argument --out: empty: give the folder" in capsys.readouterr().err


def test_plots_that_show_one_side_only_are_named_in_a_note():
    both = [{"type": "vega", "revisions": ["main", "workspace"]}]
    images = [{"type": "image", "revisions": ["main"]}, {"type": "image", "revisions": ["workspace"]}]
    assert sides_missing({"training_loss": both, "reports/figures/reliability.png": images}, "main") == ""
    plots = {"training_loss": [{"type": "vega", "revisions": ["workspace"]}],
             "reports/figures/reliability.png": [{"type": "image", "revisions": ["workspace"]}],
             "confusion_nn": [{"type": "vega", "revisions": ["825a335"]}]}
    note = sides_missing(plots, "825a335")
    assert note.splitlines()[0] == (
        "> 2 of 3 plots have no 825a335 side (training_loss, reports/figures/reliability.png): new on the other "
        "side, or files in neither this project's DVC cache nor its remote (`dvc fetch --all-commits`, then run "
        "again)")
    assert note.splitlines()[2].startswith("> 1 of 3 plots have no workspace side (confusion_nn)")
