"""The model benchmark's clock and its interleaved reference, on a tiny network and a scripted clock: no timing."""

import numpy as np
import pytest

# The benchmark builds Keras networks: imported by the tests, not at collection, which stays free of TensorFlow.
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def bench_models():
    from benchmarks import bench_models

    return bench_models


class ScriptedClock:
    """``time.perf_counter`` stand-in: the time moves only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock_time(monkeypatch, bench_models):
    scripted = ScriptedClock()
    monkeypatch.setattr(bench_models.time, "perf_counter", scripted)
    return scripted


def test_the_clock_leaves_scoring_and_the_work_between_epochs_out_and_adds_up_over_fits(clock_time, bench_models):
    y_test = np.array([0, 1, 1, 0])
    scored = np.eye(2)[[0, 1, 0, 0]]  # three of the four right

    def score(model, images):
        clock_time.now += 5.0  # scoring takes 5 s: off the clock
        return scored

    def between(done):
        clock_time.now += 100.0  # e.g. a reference's epochs: off the clock
        between.calls.append(done)

    between.calls = []
    clock = bench_models.EpochClock(np.zeros((4, 28, 28)), y_test, score, between_epochs=between)
    for _ in range(2):  # two fits of two epochs each, as a training split in chunks is
        clock.on_train_begin()
        for epoch in range(2):
            clock_time.now += 10.0  # an epoch trains for 10 s
            clock.on_epoch_end(epoch)
        clock.on_train_end()
    assert clock.elapsed == [10.0, 20.0, 30.0, 40.0]
    assert clock.seconds == 40.0 and clock.paused == 4 * 105.0
    assert clock.accuracy == [0.75] * 4
    assert between.calls == [1, 2, 1, 2]
    assert clock.time_to(0.75) == 10.0 and clock.time_to(0.8) is None


def tiny_reference():
    from benchmarks.bench_models import keras

    return keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])


def test_the_reference_catches_up_to_the_same_share_of_its_epochs_in_a_process_of_its_own(bench_models):
    rng = np.random.default_rng(0)
    split = {name: rng.integers(0, 256, (20, 28, 28), dtype=np.uint8) for name in ("x_train", "x_val", "x_test")}
    split |= {name: rng.integers(0, 10, 20) for name in ("y_train", "y_val", "y_test")}
    reference = bench_models.InterleavedReference(tiny_reference, split, epochs=5, batch_size=10, seed=0)

    done = []
    for ours in range(1, 9):  # 8 epochs of ours (two seeds of 4) against the reference's 5
        reference.catch_up(ours, 8)
        done.append(reference.done)
    assert done == [round(5 * ours / 8) for ours in range(1, 9)] == [1, 1, 2, 2, 3, 4, 4, 5]
    assert len(reference.accuracy) == 5 and reference.seconds > 0
    assert reference.elapsed == sorted(reference.elapsed)
    reference.catch_up(8, 8)  # caught up: nothing more to train
    assert reference.done == 5
    reference.close()
    assert reference._process.exitcode == 0
