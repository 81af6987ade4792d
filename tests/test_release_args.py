"""`make release`'s arguments checked as GTO checks them, before any tag is made, and what a stale workspace is
told to run."""

import pytest

from mnist_pipeline.tools.release import main, only_deleted_outputs


@pytest.mark.parametrize(("argv", "message"), [
    (["nn", "1.0"], "argument version: a version is semantic, with a leading v (v1.0.0, v1.1.0-rc.1), not '1.0'"),
    (["nn", "v1.0"], "not 'v1.0'"),
    (["nn", ""], "not ''"),
    (["nn", "v1.0.0", "--stage", "my stage"], "argument --stage: a stage is letters, digits, '_', '-' and '/', "
                                              "starting and ending with a letter or digit (dev, prod), not 'my stage'"),
    (["nn", "v1.0.0", "--stage", "prod-"], "not 'prod-'"),
])
def test_a_version_or_stage_gto_would_refuse_is_refused_before_anything_is_tagged(argv, message, capsys, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # no project here: the arguments are refused before one is looked for
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(("status", "deleted"), [
    ({"train_logreg": [{"changed outs": {"models/logreg.skops": "deleted"}}]}, ["models/logreg.skops"]),
    ({"train_nn": [{"changed outs": {"models/nn.keras": "deleted", "reports/nn_history.csv": "deleted"}}],
      "train_logreg": [{"changed outs": {"models/logreg.skops": "deleted"}}]},
     ["models/logreg.skops", "models/nn.keras", "reports/nn_history.csv"]),
    ({"train_nn": [{"changed outs": {"models/nn.keras": "modified"}}]}, []),
    ({"train_nn": [{"changed deps": {"params.yaml": "modified"}}, {"changed outs": {"models/nn.keras": "deleted"}}]},
     []),
    ({"train_nn": ["always changed"]}, []),
    # a deleted model is also a deleted input of evaluate, which reads it
    ({"train_nn": [{"changed outs": {"models/nn.keras": "deleted"}}],
      "evaluate": [{"changed deps": {"models/nn.keras": "deleted"}}]}, ["models/nn.keras"]),
    ({"evaluate": [{"changed deps": {"models/nn.keras": "deleted"}}]}, []),  # deleted, but no stage's output
    ({"train_nn": [{"changed outs": {"models/nn.keras": "deleted"}}],
      "evaluate": [{"changed deps": {"models/nn.keras": "deleted", "stages/evaluate.py": "modified"}}]}, []),
])
def test_outputs_only_deleted_are_told_to_be_checked_out_and_anything_else_to_be_rerun(status, deleted):
    assert only_deleted_outputs(status) == deleted
