"""The benchmark's distance to the limit: arithmetic counted from layer shapes, and the peak read from cpuinfo."""

import pytest

from benchmarks.limits import Processor, forward_flops, limits_row, logreg_training_flops, parse_cpuinfo, training_flops
from mnist_pipeline.tensorflow_env import import_keras

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14
cpu MHz\t\t: 2596.128
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw

processor\t: 1
model name\t: AMD EPYC 9R14
"""


def test_forward_flops_by_hand():
    keras = import_keras()
    layers = keras.layers
    inner = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(4, 3, padding="same"),   # 8 x 8 outputs x (3 x 3 x 1) x 4 multiply-adds
        layers.MaxPooling2D(),
        layers.Conv2D(6, 3),                   # valid: 2 x 2 outputs x (3 x 3 x 4) x 6
        layers.Flatten(),
        layers.Dense(10),                      # 24 x 10
    ])
    expected = 2 * (8 * 8 * 9 * 4 + 2 * 2 * 36 * 6 + 24 * 10)
    assert forward_flops(inner) == expected
    # A model that calls another counts its layers once, however often it calls it.
    inputs = keras.Input(shape=(8, 8, 1))
    outer = keras.Model(inputs, layers.Average()([inner(inputs), inner(layers.Lambda(lambda x: -x)(inputs))]))
    assert forward_flops(outer) == expected
    assert training_flops(inner, samples=100, epochs=2) == 3 * expected * 100 * 2


def test_logreg_training_flops():
    assert logreg_training_flops(samples=10, features=784, classes=10, evaluations=3) == 4 * 10 * 784 * 10 * 3


@pytest.mark.parametrize(("flags", "lanes"), [("avx2 fma avx512f", 16), ("avx avx2 fma", 8), ("sse sse2", 4)])
def test_the_widest_fma_sets_the_lanes(flags, lanes):
    text = CPUINFO.replace("fpu sse sse2 avx avx2 fma avx512f avx512bw", flags)
    assert parse_cpuinfo(text, cores=2).lanes == lanes


def test_peak_from_cpuinfo_and_cpufreq():
    processor = parse_cpuinfo(CPUINFO, cores=2)
    assert processor == Processor(model="AMD EPYC 9R14", cores=2, lanes=16, ghz=2.596128)
    assert processor.peak_flops == pytest.approx(2 * 16 * 2 * 2.596128e9)
    assert parse_cpuinfo(CPUINFO, cores=2, max_khz=3_700_000).ghz == 3.7


def test_limits_row():
    processor = Processor(model="x", cores=2, lanes=16, ghz=2.5)  # 160 GFLOP/s
    row = limits_row("cnn", flops=16 * 10**12, seconds=400.0, processor=processor)
    assert row == "| cnn | 16.00 | 400.0 | 40.0 | 25.0% | 100.0 | 4.0x |"
