"""How far a training runs from the machine's limit: its arithmetic, counted from the layer shapes, against the
processor's peak, read from the machine.

A training step of a network costs about three forward passes (the forward pass, and in the backward pass the
gradients with respect to the activations and to the weights). Only multiply-adds in convolutions and dense
layers are counted, 2 floating-point operations each: pooling, activations, augmentation and the optimizer's
update are a small fraction of them and run at memory speed, not at the FMA units' peak.

The float32 peak is cores x FMA units x float32 lanes of the widest FMA instruction x 2 (a fused multiply-add
is two operations) x clock. Intel's Xeons with AVX-512 have two 512-bit FMA units a core; AMD's Zen 4 issues
AVX-512 as two 256-bit halves on its two FMA pipes, which is one unit of sixteen lanes, and Zen 5 has two.
Without AVX-512, Intel's cores since Haswell and AMD's since Zen 2 have two 256-bit FMA units; anything else is
counted as one unit. A virtual machine's cpuinfo gives the base clock, and the cores may run faster: a large
float32 matrix product, timed here, is a floor under the real peak, and where it beats the computed one it
is taken instead.

A bfloat16 network has its own peak: twice float32's where the CPU has AVX512_BF16's dot product (two
bfloat16 multiply-adds in each float32 lane), 1,024 operations a cycle a core where it has AMX's tile
multiply (Intel's figure for Sapphire Rapids), and never less than a timed bfloat16 matrix product.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mnist_pipeline.cpu import CPUINFO, cpu_flags, cpuinfo_fields
from mnist_pipeline.tensorflow_env import import_keras, import_tensorflow

# float32 lanes of the widest FMA instruction a CPU flag announces, widest first.
FMA_LANES = (("avx512f", 16), ("fma", 8))
# A step costs the forward pass and two of its size backwards.
TRAINING_PASSES = 3


def forward_flops(model) -> int:
    """Floating-point operations of one sample's forward pass through the Keras ``model``'s convolutions and
    dense layers (nested models included, once each), from the shapes of their kernels and outputs."""
    keras = import_keras()
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


# Operations a cycle a core of AMX's bfloat16 tile multiply.
AMX_BF16_FLOPS_PER_CYCLE = 1024
MATMUL_SIZE = 2048


@dataclass(frozen=True)
class Processor:
    model: str
    cores: int
    lanes: int  # float32 lanes per FMA instruction
    ghz: float  # the clock Linux reports
    fma_units: int = 1  # FMA instructions a core issues a cycle
    matmul_flops: float = 0.0  # a float32 matrix product's rate, measured here (0: not measured)
    bfloat16_matmul_flops: float = 0.0  # the same product's rate in bfloat16 (0: not measured)
    # AVX512_BF16's dot product does two bfloat16 multiply-adds in each float32 lane: twice float32's rate.
    bfloat16_dot: bool = False
    amx: bool = False  # AMX's bfloat16 tile multiply

    @property
    def nominal_flops(self) -> float:
        """float32 operations a second at the reported clock."""
        return self.cores * self.fma_units * self.lanes * 2 * self.ghz * 1e9

    @property
    def peak_flops(self) -> float:
        """The nominal float32 peak, or the measured matrix product's rate where it is higher."""
        return max(self.nominal_flops, self.matmul_flops)

    @property
    def nominal_bfloat16_flops(self) -> float:
        """bfloat16 operations a second from the instructions cpuinfo announces (float32's where none)."""
        if self.amx:
            return self.cores * AMX_BF16_FLOPS_PER_CYCLE * self.ghz * 1e9
        return self.nominal_flops * (2 if self.bfloat16_dot else 1)

    @property
    def bfloat16_peak_flops(self) -> float:
        """The bfloat16 peak: nominal, raised by the measured products where they beat it."""
        scale = self.nominal_bfloat16_flops / self.nominal_flops
        return max(self.nominal_bfloat16_flops, self.peak_flops * scale, self.bfloat16_matmul_flops)

    def peak_for(self, precision: str) -> float:
        """The peak for a Keras dtype policy."""
        return self.bfloat16_peak_flops if precision == "mixed_bfloat16" else self.peak_flops

    def describe(self, matmul_size: int) -> str:
        units = f"{self.fma_units} FMA units of " if self.fma_units > 1 else ""
        text = (f"{self.model}, {self.cores} cores, {units}{self.lanes} float32 lanes: "
                f"{self.nominal_flops / 1e9:.0f} GFLOP/s at the {self.ghz:.2f} GHz Linux reports; "
                f"a {matmul_size}x{matmul_size} float32 matrix product in TensorFlow ran at "
                f"{self.matmul_flops / 1e9:.0f} GFLOP/s")
        if self.matmul_flops > self.nominal_flops:
            text += f", faster: the float32 peak is taken as {self.peak_flops / 1e9:.0f} GFLOP/s"
        instruction = "AMX" if self.amx else "AVX512_BF16" if self.bfloat16_dot else "no bfloat16 instructions"
        measured = (f"the product ran at {self.bfloat16_matmul_flops / 1e9:.0f}" if self.bfloat16_matmul_flops
                    else "the product not run (no bfloat16 kernels in this process)")
        text += (f"; bfloat16 ({instruction}): {self.nominal_bfloat16_flops / 1e9:.0f} GFLOP/s nominal, "
                 f"{measured}: the bfloat16 peak is taken as {self.bfloat16_peak_flops / 1e9:.0f} GFLOP/s")
        return text


def fma_units(vendor: str, family: int, model: int, model_name: str, flags: set[str]) -> int:
    """FMA instructions of the widest width a core issues each cycle, where it is known to be two."""
    if "avx512f" in flags:
        if vendor == "GenuineIntel" and "Xeon" in model_name:
            return 2  # ports 0 and 5 of Skylake-SP and later server cores
        if vendor == "AuthenticAMD" and family >= 26:
            return 2  # Zen 5: a full 512-bit data path on both FMA pipes
        return 1
    if "fma" in flags:
        if vendor == "GenuineIntel":
            return 2  # ports 0 and 1 of Haswell and later cores
        if vendor == "AuthenticAMD" and (family > 23 or (family == 23 and model >= 0x30)):
            return 2  # Zen 2 and Zen 3: two 256-bit FMA pipes (Zen 1 splits a 256-bit FMA over its two 128-bit ones)
    return 1


def parse_cpuinfo(text: str, cores: int, max_khz: int | None = None) -> Processor:
    """The processor described by ``/proc/cpuinfo``'s ``text``, with ``cores`` usable cores; ``max_khz`` (cpufreq's
    maximum, where the kernel shows it) takes precedence over the ``cpu MHz`` line."""
    fields = cpuinfo_fields(text)
    flags = cpu_flags(fields)
    lanes = next((lanes for flag, lanes in FMA_LANES if flag in flags), 4)
    ghz = max_khz / 1e6 if max_khz else float(fields.get("cpu MHz", "nan")) / 1e3
    model = fields.get("model name", "unknown")
    units = fma_units(fields.get("vendor_id", ""), int(fields.get("cpu family", "0")), int(fields.get("model", "0")),
                      model, flags)
    return Processor(model=model, cores=cores, lanes=lanes, ghz=ghz, fma_units=units,
                     bfloat16_dot="avx512_bf16" in flags, amx="amx_bf16" in flags)


def products_side_by_side() -> int:
    """The ops this process runs side by side: its inter-op threads (TensorFlow's default: one per core)."""
    tf = import_tensorflow()
    return tf.config.threading.get_inter_op_parallelism_threads() or len(os.sched_getaffinity(0))


def measure_matmul_flops(size: int = MATMUL_SIZE, repeats: int = 10, dtype: str = "float32") -> float:
    """The best rate of ``repeats`` rounds of ``size`` x ``size`` matrix products in TensorFlow, in FLOP/s.

    A round runs as many products side by side as this process's inter-op pool has threads (each product on
    the intra-op threads), so the rate is the machine's under this process's settings: with one thread an op
    and a thread per core side by side (towers), a single product would use one core.
    """
    tf = import_tensorflow()

    side_by_side = products_side_by_side()
    matrix = tf.cast(tf.random.stateless_uniform((size, size), seed=(0, 0)), dtype)
    products = tf.function(lambda: [tf.linalg.matmul(matrix + i, matrix) for i in range(side_by_side)])
    [product.numpy() for product in products()]  # the first call traces and sets the kernels up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        [product.numpy() for product in products()]
        best = min(best, time.perf_counter() - start)
    return side_by_side * 2 * size**3 / best


def this_processor(bfloat16: bool = True) -> Processor:
    """This machine's processor, as Linux describes it, with the cores this process may use and the rates of a
    float32 and (with ``bfloat16``) a bfloat16 matrix product timed here. A process under the portable compute
    profile has no bfloat16 kernels: a bfloat16 product there would abort it."""
    cores = len(os.sched_getaffinity(0))
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    max_khz = int(max_freq.read_text()) if max_freq.exists() else None
    processor = parse_cpuinfo(CPUINFO.read_text(), cores, max_khz)
    return replace(processor, matmul_flops=measure_matmul_flops(),
                   bfloat16_matmul_flops=measure_matmul_flops(dtype="bfloat16") if bfloat16 else 0.0)


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
