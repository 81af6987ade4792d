"""What this processor computes natively, as Linux's ``/proc/cpuinfo`` announces it, and whether bfloat16 pays.

Under ``train_nn.compute: fast``, ``precision: auto`` asks :func:`bfloat16_is_faster`. The rule follows
``python -m benchmarks.bench_precision`` (a training step of the default CNN in bfloat16 against float32; the
figures are in docs/benchmark.md):

- AMX's bfloat16 tiles (Intel Xeons since Sapphire Rapids): faster;
- AVX512_BF16 on AMD's EPYCs (Zen 4, Zen 5): faster;
- AVX512_BF16 on an Intel Xeon without AMX: slower, since its two 512-bit FMA units already run float32 at full
  width and the casts around each layer cost more than the dot product saves;
- no bfloat16 instructions at all (AMD's Zen 3, Intel's AVX2 cores): far slower, since oneDNN emulates them.

Arm's BF16 (Graviton 3 and later) has not been measured; its matrix-multiply instruction does four times the
multiply-adds of a float32 FMA, and it is counted with AMX.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The flags of instructions that multiply bfloat16 numbers: x86's AVX512_BF16 dot product and AMX's tile multiply;
# Arm's FEAT_BF16 ("bf16" in an aarch64 cpuinfo's Features line).
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
# Those that make bfloat16 faster than float32 on any CPU that has them (above).
FASTER_BFLOAT16_FLAGS = frozenset({"amx_bf16", "bf16"})


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's ``name: value`` lines of a cpuinfo ``text`` (every core reports the same)."""
    first = text.split("\n\n")[0]
    return dict(re.findall(r"^([^\t:]+?)\s*:\s*(.*)$", first, re.MULTILINE))


def cpu_flags(fields: dict[str, str]) -> set[str]:
    """The instruction-set flags of :func:`cpuinfo_fields`: x86's ``flags`` line, or aarch64's ``Features``."""
    return set(fields.get("flags", fields.get("Features", "")).split())


def bfloat16_pays(fields: dict[str, str]) -> bool:
    """Whether a network trains faster in bfloat16 than in float32 on the CPU of these cpuinfo ``fields``."""
    flags = cpu_flags(fields)
    if flags & FASTER_BFLOAT16_FLAGS:
        return True
    # AVX512_BF16 pays on AMD's cores (measured on Zen 4 and Zen 5), not on Intel's without AMX.
    return "avx512_bf16" in flags and fields.get("vendor_id") == "AuthenticAMD"


@functools.cache
def bfloat16_is_faster(cpuinfo: Path = CPUINFO) -> bool:
    """:func:`bfloat16_pays` for this CPU; False where ``cpuinfo`` cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return bfloat16_pays(cpuinfo_fields(text))
