"""Ctrl-C and SIGTERM during training: recorded by the handler, honoured after the batch in progress."""

import os
import signal
import threading

import numpy as np
import pytest

from mnist_pipeline.interrupts import STOPPING, between_batches


@pytest.fixture
def default_signals():
    """SIGINT and SIGTERM as a program started in a terminal has them, whatever pytest's worker was given."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_block_is_raised_when_the_block_ends(default_signals, signum):
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt, match=rf"^signal {signum}$"), between_batches() as stop:
        assert not stop
        os.kill(os.getpid(), signum)
        assert stop and stop.signum == signum  # recorded, and the block goes on
        reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_second_signal_interrupts_at_once(default_signals):
    with pytest.raises(KeyboardInterrupt, match=r"^signal 2, a second time$"), between_batches():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second signal should have interrupted the block")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_block_without_a_signal_ends_normally_and_restores_the_handlers(default_signals):
    with between_batches() as stop:
        assert signal.getsignal(signal.SIGINT) == stop.handle
        assert signal.getsignal(signal.SIGTERM) == stop.handle
    assert not stop
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_ignored_signal_stays_ignored(default_signals):
    # A job started in the background (`cmd &` in a script, nohup) ignores SIGINT: Ctrl-C is not for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with between_batches() as stop:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
    assert not stop
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_outside_the_main_thread_the_handlers_are_left_alone(default_signals):
    seen = []

    def train():
        with between_batches() as stop:
            seen.append((signal.getsignal(signal.SIGINT), bool(stop)))

    worker = threading.Thread(target=train)
    worker.start()
    worker.join()
    assert seen == [(signal.default_int_handler, False)]


@pytest.mark.heavy  # imports Keras and trains
def test_keras_training_stops_after_the_batch_in_progress_then_interrupts(default_signals):
    from mnist_pipeline.tensorflow_env import import_keras

    keras = import_keras()

    class CtrlCInTheThirdBatch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches_ended = 0
            self.epochs_ended = 0

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)

        def on_train_batch_end(self, batch, logs=None):
            self.batches_ended += 1

        def on_epoch_end(self, epoch, logs=None):
            self.epochs_ended += 1

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 4)).astype(np.float32), rng.integers(0, 2, 80)
    watch = CtrlCInTheThirdBatch()
    with pytest.raises(KeyboardInterrupt, match=r"^signal 2$"), between_batches() as stop:
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[watch, stop.keras_callback(keras)])
        fit_returned = True
    assert fit_returned  # fit ended by itself: nothing was raised inside TensorFlow
    assert (watch.batches_ended, watch.epochs_ended) == (3, 1)  # of 10 batches and 3 epochs


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stage_stopped_by_kill_or_a_closed_terminal_ends_as_ctrl_c_leaving_no_output(tmp_path, caplog, signum):
    from mnist_pipeline.artifacts import atomic_path
    from mnist_pipeline.stage_runner import run_stage

    handlers = {s: signal.getsignal(s) for s in STOPPING}

    def main():
        with atomic_path(tmp_path / "out.npz") as partial:
            partial.write_bytes(b"half")
            os.kill(os.getpid(), signum)
            raise AssertionError(f"signal {signum} did not interrupt the stage")

    with pytest.raises(SystemExit) as ended:
        run_stage(main)
    assert ended.value.code == 130
    assert "interrupted; no output was left half-written" in caplog.text
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file
    assert {s: signal.getsignal(s) for s in STOPPING} == handlers  # the caller's handlers back


def test_a_stage_under_nohup_runs_on_when_its_terminal_closes(tmp_path):
    # nohup ignores SIGHUP and the stages it starts inherit that; the stage's handler must leave it so.
    from mnist_pipeline.artifacts import atomic_path
    from mnist_pipeline.stage_runner import run_stage

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        def main():
            with atomic_path(tmp_path / "out.txt") as partial:
                os.kill(os.getpid(), signal.SIGHUP)
                partial.write_text("whole")

        run_stage(main)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert (tmp_path / "out.txt").read_text() == "whole"
