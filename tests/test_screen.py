"""The screening benchmark's overrides of params.yaml's train_nn section."""

import sys

import pytest
from helpers import REPO_ROOT

from benchmarks import screen
from benchmarks.screen import with_overrides

SECTION = {"seed": 42, "augment": {"shift": 0.1, "zoom": 0.0}, "cnn": {"epochs": 8, "filters": [32, 64]}}


def test_overrides_reach_nested_keys_and_are_read_as_yaml():
    changed = with_overrides(SECTION, ["cnn.epochs=10", "augment.zoom=0.1", "cnn.filters=[16, 32, 48]", "seed=7"])
    assert changed == {"seed": 7, "augment": {"shift": 0.1, "zoom": 0.1},
                       "cnn": {"epochs": 10, "filters": [16, 32, 48]}}
    assert SECTION["cnn"]["epochs"] == 8 and SECTION["augment"]["zoom"] == 0.0  # the original is left as it was


def test_an_unknown_key_is_refused_by_name():
    for override in ("cnn.epoch=10", "cnnn.epochs=10", "seed.value=1"):
        with pytest.raises(SystemExit, match=override.partition("=")[0]):
            with_overrides(SECTION, [override])


@pytest.mark.parametrize(("override", "message"), [
    ("cnn.epochs", r"^--set cnn\.epochs: give KEY=VALUE"),
    ("cnn.filters=[1,", r"^--set cnn\.filters=\[1,: the value is no YAML \("),
])
def test_an_override_that_is_no_key_and_yaml_value_is_refused_by_name(override, message):
    with pytest.raises(SystemExit, match=message):
        with_overrides(SECTION, [override])


def test_a_value_the_stage_would_refuse_is_a_usage_error_before_anything_trains(monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)  # the project's params.yaml
    monkeypatch.setattr(sys, "argv", ["screen.py", "--set", "cnn.epochs=-3"])
    with pytest.raises(SystemExit) as exit_:
        screen.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: --set: train_nn.cnn.epochs = -3 is out of range" in err and "Traceback" not in err
