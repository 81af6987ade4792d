"""What this processor computes natively, as Linux's ``/proc/cpuinfo`` announces it.

A network in bfloat16 trains about twice as fast as in float32 on a CPU with bfloat16 instructions, and about
nine times slower on one without, where oneDNN emulates them (the default CNN on an AMD EPYC of the Zen 3
generation: 1.42 s a step against 0.16 s; ``python -m benchmarks.bench_precision``). ``train_nn``'s
``precision: auto`` asks :func:`has_bfloat16_arithmetic`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The flags of instructions that multiply bfloat16 numbers: x86's AVX512_BF16 dot product and AMX's tile multiply;
# Arm's FEAT_BF16 ("bf16" in an aarch64 cpuinfo's Features line).
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's ``name: value`` lines of a cpuinfo ``text`` (every core reports the same)."""
    first = text.split("\n\n")[0]
    return dict(re.findall(r"^([^\t:]+?)\s*:\s*(.*)$", first, re.MULTILINE))


def cpu_flags(fields: dict[str, str]) -> set[str]:
    """The instruction-set flags of :func:`cpuinfo_fields`: x86's ``flags`` line, or aarch64's ``Features``."""
    return set(fields.get("flags", fields.get("Features", "")).split())


@functools.cache
def has_bfloat16_arithmetic(cpuinfo: Path = CPUINFO) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware; False where ``cpuinfo`` cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return bool(cpu_flags(cpuinfo_fields(text)) & BFLOAT16_FLAGS)
