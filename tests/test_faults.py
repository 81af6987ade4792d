"""Faults through the real pipeline: corrupt data, bad params, stages killed midway, untrusted model files."""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import as_in_a_terminal

from mnist_pipeline.errors import ModelLoadError
from mnist_pipeline.keras_io import load_keras
from mnist_pipeline.skops_io import load_skops

STAGE_OUTPUTS = ("models/nn.keras", "reports/train_nn", "data/probabilities/nn.npz")


def restore(project) -> None:
    project.git("checkout", "--", ".")
    project.repro()
    assert "up to date" in project.dvc("status").stdout


@pytest.fixture(autouse=True)
def put_back_after_a_failure(request):
    """A test that broke the module's project and failed before its own :func:`restore`: the project is put back,
    so that the next test starts from the committed state and fails, if it does, for a reason of its own."""
    failed_before = request.session.testsfailed
    yield
    if "project" in request.fixturenames and request.session.testsfailed > failed_before:
        project = request.getfixturevalue("project")
        for path in leftovers(project):
            shutil.rmtree(path, ignore_errors=True)
        restore(project)


def leftovers(project) -> list[Path]:
    """Temporary siblings that atomic writes leave only when killed outright."""
    folders = ("data", "data/processed", "data/probabilities", "models", "reports")
    return [path for folder in folders for path in (project.root / folder).glob(".*.tmp")]


def signal_dispositions(pids: list[int]) -> dict[int, dict[str, str]]:
    """Each process's group and its ignored and caught signal masks, from /proc: why a signal went unheeded."""
    fields = ("NSpgid", "SigIgn", "SigCgt")
    dispositions = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            dispositions[pid] = dict(line.split(":\t", 1) for line in lines if line.startswith(fields))
    return dispositions


def test_corrupt_raw_file_is_caught_before_anything_trains_on_it(project):
    raw = project.root / "data/raw/train-labels-idx1-ubyte"
    data = bytearray(raw.read_bytes())
    data[100] ^= 0xFF
    raw.chmod(0o644)
    raw.write_bytes(bytes(data))
    result = project.dvc("repro", "--single-item", "preprocess", check=False)
    assert result.returncode != 0
    assert "train-labels-idx1-ubyte: SHA-256" in result.stdout + result.stderr
    assert "is not the canonical" in result.stdout + result.stderr
    # A full repro sees fetch's output changed, fetches again and heals the data.
    restore(project)


def test_bad_param_fails_fast_naming_key_value_and_choices(project):
    project.set_params(train_nn={"arch": "rnn"})
    start = time.monotonic()
    result = project.dvc("repro", "train_nn", check=False)
    assert result.returncode != 0
    assert "train_nn.arch = 'rnn' is not allowed; choose one of ['cnn', 'mlp']" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert time.monotonic() - start < 60
    restore(project)


def start_repro(project) -> subprocess.Popen:
    return subprocess.Popen(["dvc", "repro"], cwd=project.root, env=project.env, start_new_session=True,
                            preexec_fn=as_in_a_terminal, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_training(project, process, timeout=120, what=".train_nn.*.tmp/train_nn/plots/metrics/train/loss.tsv"
                      ) -> None:
    """Block until train_nn has written ``what`` under reports/: by default, its first epoch into its temporary log
    directory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((project.root / "reports").glob(what)):
            return
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.2)
    raise AssertionError("train_nn did not start training")


def stage_pids(project, stage: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if f"stages.{stage}" in cmdline and Path(os.readlink(proc / "cwd")) == project.root:
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def test_interrupted_training_leaves_no_partial_output(project):
    project.set_params(train_nn={"cnn": {"epochs": 60}})
    process = start_repro(project)
    wait_for_training(project, process)
    dispositions = signal_dispositions(stage_pids(project, "train_nn"))
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the whole foreground group
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, f"the stage ran on after Ctrl-C; its signals then: {dispositions}\n{output}"
    for output_path in STAGE_OUTPUTS:
        assert not (project.root / output_path).exists(), output_path
    left = leftovers(project)
    assert left == [], ([str(path) for folder in left for path in folder.rglob("*")], output)
    restore(project)


def test_killed_training_is_cleaned_up_by_the_next_run(project):
    # Killed once its temporary log directory exists: from then until the saved model, seconds even at three epochs
    # (after its first epoch, the end was once under a loaded machine's next look), and the rerun stays short.
    project.set_params(train_nn={"cnn": {"epochs": 3}})
    process = start_repro(project)
    wait_for_training(project, process, what=".train_nn.*.tmp")
    for pid in stage_pids(project, "train_nn"):
        os.kill(pid, signal.SIGKILL)  # no chance to clean up
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    assert not (project.root / "models/nn.keras").exists()
    assert leftovers(project), "SIGKILL should have left the temporary directory behind"

    assert "train_nn" in project.repro()  # same params: the stage reruns and sweeps the leftovers
    assert leftovers(project) == []
    assert (project.root / "models/nn.keras").is_file()
    restore(project)


def test_tampered_skops_model_is_refused_not_run(tmp_path):
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "logreg.skops"
    skops.io.dump(FunctionTransformer(func=os.system), path)
    with pytest.raises(ModelLoadError, match="not trusted"):
        load_skops(path)


@pytest.mark.heavy
def test_keras_model_with_code_is_refused_not_run(tmp_path):
    import keras

    marker = tmp_path / "executed"
    # Code with a side effect, built from constants only so Keras can serialise it.
    payload = eval(f"lambda x: __import__('pathlib').Path({str(marker)!r}).touch() or x")
    inputs = keras.Input(shape=(28, 28))
    outputs = keras.layers.Lambda(payload)(inputs)
    path = tmp_path / "nn.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink(missing_ok=True)  # building the model ran the lambda once; loading must not
    with pytest.raises(ModelLoadError, match=r"[Ll]ambda|unsafe|safe_mode"):
        load_keras(path)
    assert not marker.exists()


def test_truncated_model_files_are_refused(tmp_path, project):
    for name, loader in (("logreg.skops", load_skops), ("nn.keras", load_keras)):
        data = (project.root / "models" / name).read_bytes()
        broken = tmp_path / name
        broken.write_bytes(data[: len(data) // 2])
        with pytest.raises(ModelLoadError):
            loader(broken)
