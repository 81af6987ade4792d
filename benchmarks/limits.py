"""How far a training runs from the machine's limit: its arithmetic, counted from the layer shapes, against the
processor's peak, read from the machine.

A training step of a network costs about three forward passes (the forward pass, and in the backward pass the
gradients with respect to the activations and to the weights). Only multiply-adds in convolutions and dense
layers are counted, 2 floating-point operations each: pooling, activations, augmentation and the optimizer's
update are a small fraction of them and run at memory speed, not at the FMA units' peak.

The peak is cores x float32 lanes of the widest FMA instruction x 2 (a fused multiply-add is two operations)
x clock: one vector FMA per core per cycle. (AMD's Zen 4 issues AVX-512 as two 256-bit halves on its two FMA
pipes, which is the same sixteen lanes a cycle.) A virtual machine's cpuinfo gives the base clock, and the
cores may run faster: a large float32 matrix product, timed here, is a floor under the real peak, and where
it beats the computed one the clock it implies is taken instead.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

# float32 lanes of the widest FMA instruction a CPU flag announces, widest first.
FMA_LANES = (("avx512f", 16), ("fma", 8))
# A step costs the forward pass and two of its size backwards.
TRAINING_PASSES = 3


def forward_flops(model) -> int:
    """Floating-point operations of one sample's forward pass through the Keras ``model``'s convolutions and
    dense layers (nested models included, once each), from the shapes of their kernels and outputs."""
    import keras

    flops = 0
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            kernel_h, kernel_w, channels_in, channels_out = layer.kernel.shape
            _, out_h, out_w, _ = layer.output.shape
            flops += 2 * out_h * out_w * kernel_h * kernel_w * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            inputs, outputs = layer.kernel.shape
            flops += 2 * inputs * outputs
    return int(flops)


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _layers(layer)
        else:
            yield layer


def training_flops(model, samples: int, epochs: int) -> int:
    """A training's arithmetic: every sample of every epoch through a forward and a backward pass."""
    return TRAINING_PASSES * forward_flops(model) * samples * epochs


def logreg_training_flops(samples: int, features: int, classes: int, evaluations: int) -> int:
    """L-BFGS on a multinomial logistic regression: each evaluation of the loss and its gradient multiplies the
    data by the weights and the residuals back by the data (2 x 2 x samples x features x classes)."""
    return 4 * samples * features * classes * evaluations


@dataclass(frozen=True)
class Processor:
    model: str
    cores: int
    lanes: int  # float32 lanes per FMA instruction
    ghz: float  # the clock Linux reports
    matmul_flops: float = 0.0  # a float32 matrix product's rate, measured here (0: not measured)
    # AVX512_BF16's dot product does two bfloat16 multiply-adds in each float32 lane: twice float32's rate.
    bfloat16_dot: bool = False

    @property
    def nominal_flops(self) -> float:
        """Operations a second at one vector FMA per core per cycle at the reported clock."""
        return self.cores * self.lanes * 2 * self.ghz * 1e9

    @property
    def peak_flops(self) -> float:
        """The nominal peak, or the measured matrix product's rate where the cores beat their reported clock."""
        return max(self.nominal_flops, self.matmul_flops)

    def peak_for(self, precision: str) -> float:
        """The peak for a Keras dtype policy: a bfloat16 policy doubles it where the CPU has the dot product."""
        return self.peak_flops * (2 if precision == "mixed_bfloat16" and self.bfloat16_dot else 1)

    @property
    def peak_ghz(self) -> float:
        """The clock the peak assumes."""
        return self.peak_flops / (self.cores * self.lanes * 2 * 1e9)

    def describe(self, matmul_size: int) -> str:
        text = (f"{self.model}, {self.cores} cores, {self.lanes} float32 FMA lanes: "
                f"{self.nominal_flops / 1e9:.0f} GFLOP/s at the {self.ghz:.2f} GHz Linux reports; "
                f"a {matmul_size}x{matmul_size} float32 matrix product in TensorFlow ran at "
                f"{self.matmul_flops / 1e9:.0f} GFLOP/s")
        if self.matmul_flops > self.nominal_flops:
            text += (f", so the cores run at {self.peak_ghz:.2f} GHz or more: the peak is taken as "
                     f"{self.peak_flops / 1e9:.0f} GFLOP/s")
        if self.bfloat16_dot:
            text += f"; in bfloat16 (AVX512_BF16) twice that, {self.peak_for('mixed_bfloat16') / 1e9:.0f} GFLOP/s"
        return text


def parse_cpuinfo(text: str, cores: int, max_khz: int | None = None) -> Processor:
    """The processor described by ``/proc/cpuinfo``'s ``text``, with ``cores`` usable cores; ``max_khz`` (cpufreq's
    maximum, where the kernel shows it) takes precedence over the ``cpu MHz`` line."""
    first = text.split("\n\n")[0]
    fields = dict(re.findall(r"^([^\t:]+?)\s*:\s*(.*)$", first, re.MULTILINE))
    flags = set(fields.get("flags", "").split())
    lanes = next((lanes for flag, lanes in FMA_LANES if flag in flags), 4)
    ghz = max_khz / 1e6 if max_khz else float(fields.get("cpu MHz", "nan")) / 1e3
    return Processor(model=fields.get("model name", "unknown"), cores=cores, lanes=lanes, ghz=ghz,
                     bfloat16_dot="avx512_bf16" in flags)


MATMUL_SIZE = 2048


def measure_matmul_flops(size: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """The best rate of ``repeats`` float32 ``size`` x ``size`` matrix products in TensorFlow, in FLOP/s."""
    import tensorflow as tf

    matrix = tf.random.stateless_uniform((size, size), seed=(0, 0))
    tf.linalg.matmul(matrix, matrix).numpy()  # the first call sets the kernel up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(matrix, matrix).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def this_processor(matmul_flops: float = 0.0) -> Processor:
    """This machine's processor, as Linux describes it, with the cores this process may use."""
    cores = len(os.sched_getaffinity(0))
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    max_khz = int(max_freq.read_text()) if max_freq.exists() else None
    processor = parse_cpuinfo(Path("/proc/cpuinfo").read_text(), cores, max_khz)
    return replace(processor, matmul_flops=matmul_flops)


def limits_row(name: str, flops: int, seconds: float, peak_flops: float) -> str:
    """A markdown row: training arithmetic, the rate achieved, its share of ``peak_flops``, and the two gaps.

    "seconds at peak" is the floor of this recipe: only a cheaper recipe goes below it; the factor between the
    real time and that floor is all a faster implementation could win.
    """
    achieved = flops / seconds
    at_peak = flops / peak_flops
    return (f"| {name} | {flops / 1e12:.2f} | {seconds:.1f} | {achieved / 1e9:.1f} | "
            f"{achieved / peak_flops:.1%} | {at_peak:.1f} | {seconds / at_peak:.1f}x |")


LIMITS_HEADER = ("| model | training TFLOP | training s | GFLOP/s | of peak | s at peak | faster implementation: "
                 "at most |\n|---|---|---|---|---|---|---|")
