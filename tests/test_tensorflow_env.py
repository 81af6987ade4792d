"""What the pipeline sets in the environment before importing TensorFlow; how a reference process keeps out of it."""

import os
import subprocess
import sys

import pytest

from mnist_pipeline import tensorflow_env
from mnist_pipeline.tensorflow_env import (
    KEEP_DEFAULTS,
    ONEDNN_FPMATH,
    ONEDNN_ISA,
    ONEDNN_OPTS,
    configure_environment,
    intra_op_threads,
    kernel_environment,
    tensorflow_defaults,
)

KERNEL_VARIABLES = (ONEDNN_OPTS, ONEDNN_ISA, ONEDNN_FPMATH)


@pytest.fixture
def fresh_environment(monkeypatch):
    """No oneDNN setting of the user's, and nothing set by this module yet."""
    for name in (*KERNEL_VARIABLES, KEEP_DEFAULTS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tensorflow_env, "_before", {})
    monkeypatch.setattr(tensorflow_env, "_profile", None)


def test_onednn_kernels_are_capped_at_avx2_but_a_reference_process_gets_tensorflows_choice(fresh_environment):
    assert configure_environment() == "portable"
    assert [os.environ[name] for name in KERNEL_VARIABLES] == ["1", "AVX2", "STRICT"]
    with tensorflow_defaults():
        assert not set(KERNEL_VARIABLES) & set(os.environ)
        assert os.environ[KEEP_DEFAULTS] == "1"
        configure_environment()  # what the reference's own process runs when it imports TensorFlow
        assert not set(KERNEL_VARIABLES) & set(os.environ)
    assert os.environ[ONEDNN_ISA] == "AVX2"
    assert KEEP_DEFAULTS not in os.environ


def test_the_fast_profile_lifts_the_cap_and_stays_in_force_for_later_imports(fresh_environment):
    assert configure_environment("fast") == "fast"
    assert os.environ[ONEDNN_ISA] == "ALL"
    assert configure_environment() == "fast"  # what import_tensorflow calls
    assert os.environ[ONEDNN_ISA] == "ALL"


@pytest.mark.parametrize("compute", ["portable", "fast"])
def test_the_users_own_kernel_settings_are_overridden_and_given_back_to_a_reference_process(
        fresh_environment, monkeypatch, compute):
    users = {ONEDNN_OPTS: "0", ONEDNN_ISA: "AVX512_CORE_AMX", ONEDNN_FPMATH: "BF16"}
    for name, value in users.items():
        monkeypatch.setenv(name, value)
    configure_environment(compute)
    assert {name: os.environ[name] for name in KERNEL_VARIABLES} == kernel_environment(compute)
    with tensorflow_defaults():
        assert {name: os.environ[name] for name in KERNEL_VARIABLES} == users


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        kernel_environment("turbo")


def test_threads_an_op_follow_the_cores_only_under_the_fast_profile():
    # The count an op gets (train_nn's towers share the cores: test_towers.py): fixed under portable, whatever the
    # cores.
    assert [intra_op_threads(0, "portable", cores) for cores in (1, 2, 16)] == [1, 1, 1]
    assert [intra_op_threads(0, "fast", cores) for cores in (0, 2, 16)] == [1, 2, 16]
    assert intra_op_threads(3, "portable", 16) == intra_op_threads(3, "fast", 16) == 3


@pytest.mark.heavy
def test_tensorflows_start_up_notices_are_hidden_unless_its_info_logs_are_asked_for():
    # What a TensorFlow stage's process does: Keras imported through the project, then an op run.
    script = ("from mnist_pipeline.tensorflow_env import import_keras; import_keras().ops.add(1, 1); "
              "print('done')")
    notices = ("absl::InitializeLog", "oneDNN custom operations are on")

    def run(**env) -> str:
        environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"} | env
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                                timeout=300, check=True)
        assert result.stdout == "done\n"
        return result.stderr

    quiet = run()
    assert not [notice for notice in notices if notice in quiet], quiet
    assert all(notice in run(TF_CPP_MIN_LOG_LEVEL="0") for notice in notices)  # the control: they exist
