"""What the pipeline sets in the environment before importing TensorFlow; how a reference process keeps out of it."""

import os

import pytest

from mnist_pipeline import tensorflow_env
from mnist_pipeline.tensorflow_env import KEEP_DEFAULTS, ONEDNN_OPTS, configure_environment, tensorflow_defaults


@pytest.fixture
def fresh_environment(monkeypatch):
    """No oneDNN setting of the user's, and nothing set by this module yet."""
    monkeypatch.delenv(ONEDNN_OPTS, raising=False)
    monkeypatch.delenv(KEEP_DEFAULTS, raising=False)
    monkeypatch.setattr(tensorflow_env, "_set_here", {})


def test_onednn_kernels_are_turned_on_but_a_reference_process_gets_tensorflows_choice(fresh_environment):
    configure_environment()
    assert os.environ[ONEDNN_OPTS] == "1"
    with tensorflow_defaults():
        assert ONEDNN_OPTS not in os.environ
        assert os.environ[KEEP_DEFAULTS] == "1"
        configure_environment()  # what the reference's own process runs when it imports TensorFlow
        assert ONEDNN_OPTS not in os.environ
    assert os.environ[ONEDNN_OPTS] == "1"
    assert KEEP_DEFAULTS not in os.environ


def test_the_users_own_onednn_setting_wins_everywhere(fresh_environment, monkeypatch):
    monkeypatch.setenv(ONEDNN_OPTS, "0")
    configure_environment()
    assert os.environ[ONEDNN_OPTS] == "0"
    with tensorflow_defaults():
        assert os.environ[ONEDNN_OPTS] == "0"
