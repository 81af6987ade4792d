"""The screening benchmark's overrides of params.yaml's train_nn section."""

import pytest

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
