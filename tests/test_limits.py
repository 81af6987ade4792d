"""The benchmark's distance to the limit: arithmetic counted from layer shapes, and the peak read from cpuinfo."""

from dataclasses import replace

import pytest

from benchmarks.limits import (
    Processor,
    forward_flops,
    limits_row,
    logreg_training_flops,
    measure_matmul_flops,
    parse_cpuinfo,
    training_flops,
)
from mnist_pipeline.tensorflow_env import import_keras

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14
cpu MHz\t\t: 2596.128
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw

processor\t: 1
model name\t: AMD EPYC 9R14
"""


@pytest.mark.heavy
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


ZEN3 = CPUINFO.replace("model name\t: AMD EPYC 9R14", "cpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC").replace(
    " avx512f avx512bw", "")
XEON = CPUINFO.replace("AuthenticAMD", "GenuineIntel").replace("AMD EPYC 9R14", "Intel(R) Xeon(R) Processor")


@pytest.mark.parametrize(("text", "units"), [
    (XEON, 2),                                                       # two AVX-512 FMA ports a core
    (XEON.replace(" avx512f avx512bw", ""), 2),                      # Haswell and later: ports 0 and 1
    (XEON.replace(" fma avx512f avx512bw", ""), 1),                  # no FMA at all: counted as one
    (CPUINFO, 1),                                                    # Zen 4: 512 bits as two 256-bit halves
    (CPUINFO.replace("model name", "cpu family\t: 26\nmodel name"), 2),  # Zen 5: full 512-bit pipes
    (ZEN3, 2),                                                       # Zen 3 (family 25, model 1): two 256-bit pipes
    (ZEN3.replace("cpu family\t: 25\nmodel\t\t: 1", "cpu family\t: 23\nmodel\t\t: 49"), 2),  # Zen 2
    (ZEN3.replace("cpu family\t: 25\nmodel\t\t: 1", "cpu family\t: 23\nmodel\t\t: 1"), 1),   # Zen 1: 128-bit halves
])
def test_fma_units_a_core(text, units):
    processor = parse_cpuinfo(text, cores=2)
    assert processor.fma_units == units
    assert processor.nominal_flops == pytest.approx(2 * units * processor.lanes * 2 * 2.596128e9)


def test_limits_row():
    processor = Processor(model="x", cores=2, lanes=16, ghz=2.5)  # 160 GFLOP/s
    row = limits_row("cnn", flops=16 * 10**12, seconds=400.0, peak_flops=processor.peak_flops)
    assert row == "| cnn | 16.00 | 400.0 | 40.0 | 25.0% | 100.0 | 4.0x |"


def test_a_measured_matrix_product_faster_than_the_reported_clock_raises_the_peak():
    reported = Processor(model="x", cores=2, lanes=16, ghz=2.5)  # 160 GFLOP/s
    assert reported.peak_flops == reported.nominal_flops == 160e9
    slower = Processor(model="x", cores=2, lanes=16, ghz=2.5, matmul_flops=120e9)
    assert slower.peak_flops == 160e9
    assert "the float32 peak is taken" not in slower.describe(2048)
    # A portable-profile process runs no bfloat16 product: it says so instead of a rate of 0.
    assert "bfloat16 (no bfloat16 instructions): 160 GFLOP/s nominal, the product not run (no bfloat16 kernels in " \
           "this process)" in slower.describe(2048)
    faster = Processor(model="x", cores=2, lanes=16, ghz=2.5, matmul_flops=192e9, bfloat16_matmul_flops=150e9)
    assert faster.peak_flops == 192e9
    assert faster.describe(2048) == (
        "x, 2 cores, 16 float32 lanes: 160 GFLOP/s at the 2.50 GHz Linux reports; a 2048x2048 float32 matrix "
        "product in TensorFlow ran at 192 GFLOP/s, faster: the float32 peak is taken as 192 GFLOP/s; bfloat16 "
        "(no bfloat16 instructions): 160 GFLOP/s nominal, the product ran at 150: the bfloat16 peak is taken as "
        "192 GFLOP/s")
    row = limits_row("cnn", flops=16 * 10**12, seconds=400.0, peak_flops=faster.peak_flops)
    assert row == "| cnn | 16.00 | 400.0 | 40.0 | 20.8% | 83.3 | 4.8x |"


@pytest.mark.heavy  # the products are TensorFlow's
def test_measure_matmul_flops_counts_two_operations_per_multiply_add_at_the_best_time(monkeypatch):
    # A clock whose timed intervals last 4, 2 and 3 s, in that order: the best is 2 s.
    ticks = iter([0.0, 4.0, 10.0, 12.0, 20.0, 23.0])
    monkeypatch.setattr("benchmarks.limits.time.perf_counter", lambda: next(ticks))
    monkeypatch.setattr("benchmarks.limits.products_side_by_side", lambda: 3)  # 3 products a round
    assert measure_matmul_flops(size=64, repeats=3) == 3 * 2 * 64**3 / 2.0


def test_the_bfloat16_peak_follows_the_instructions_and_the_measured_product():
    with_dot = parse_cpuinfo(CPUINFO.replace("avx512bw", "avx512bw avx512_bf16"), cores=2)
    assert with_dot.bfloat16_dot and not with_dot.amx
    assert with_dot.peak_for("mixed_bfloat16") == 2 * with_dot.peak_for("float32") == 2 * with_dot.peak_flops
    # A float32 product faster than the reported clock raises the bfloat16 peak in proportion.
    faster = replace(with_dot, matmul_flops=1.5 * with_dot.nominal_flops)
    assert faster.peak_for("mixed_bfloat16") == pytest.approx(3 * with_dot.nominal_flops)
    without = parse_cpuinfo(CPUINFO, cores=2)
    assert without.peak_for("mixed_bfloat16") == without.peak_flops  # emulated: no faster than float32
    # A timed bfloat16 product is a floor under the bfloat16 peak, whatever cpuinfo says.
    measured = replace(without, bfloat16_matmul_flops=3 * without.peak_flops)
    assert measured.peak_for("mixed_bfloat16") == 3 * without.peak_flops
    amx = parse_cpuinfo(XEON.replace("avx512bw", "avx512bw avx512_bf16 amx_bf16 amx_tile"), cores=2)
    assert amx.amx and amx.peak_for("mixed_bfloat16") == pytest.approx(2 * 1024 * 2.596128e9)
    assert "bfloat16 (AMX): 5317 GFLOP/s nominal" in amx.describe(2048)
