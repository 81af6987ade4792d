"""Which precision ``precision: auto`` picks: bfloat16 only where cpuinfo announces bfloat16 instructions."""

import pytest

from mnist_pipeline.cpu import cpu_flags, cpuinfo_fields, has_bfloat16_arithmetic
from mnist_pipeline.nn import compute_precision

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse sse2 avx avx2 fma {extra}

processor\t: 1
flags\t\t: something else
"""
AARCH64 = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 {extra}
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize(("cpuinfo", "extra", "native"), [
    (X86, "", False),                           # AVX2 only (Zen 3, Haswell to Ice Lake): emulated
    (X86, "avx512f avx512bw", False),           # AVX-512 without its bfloat16 dot product (Skylake-SP)
    (X86, "avx512f avx512_bf16", True),         # Zen 4, Cooper Lake
    (X86, "avx512f amx_bf16 amx_tile", True),   # Sapphire Rapids and later
    (AARCH64, "asimddp", False),
    (AARCH64, "asimddp bf16 i8mm", True),       # Graviton 3, Neoverse V1 and later
])
def test_bfloat16_arithmetic_from_cpuinfo(tmp_path, cpuinfo, extra, native):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo.format(extra=extra))
    assert has_bfloat16_arithmetic(path) is native


def test_the_first_processor_s_flags_are_read():
    assert cpu_flags(cpuinfo_fields(X86.format(extra="avx512_bf16"))) == {
        "fpu", "sse", "sse2", "avx", "avx2", "fma", "avx512_bf16"}


def test_no_cpuinfo_means_no_bfloat16(tmp_path):
    assert has_bfloat16_arithmetic(tmp_path / "missing") is False


@pytest.mark.parametrize(("precision", "native", "policy"), [
    ("auto", True, "mixed_bfloat16"),
    ("auto", False, "float32"),
    # An explicit choice stands, whatever the CPU.
    ("float32", True, "float32"),
    ("mixed_bfloat16", False, "mixed_bfloat16"),
])
def test_auto_precision_follows_the_cpu(precision, native, policy):
    assert compute_precision(precision, bfloat16_native=native) == policy
