"""Which precision ``precision: auto`` picks: bfloat16 only where cpuinfo announces instructions that make it faster."""

import pytest

from mnist_pipeline.cpu import bfloat16_is_faster, cpu_flags, cpuinfo_fields
from mnist_pipeline.nn import compute_precision

X86 = """processor\t: 0
vendor_id\t: {vendor}
model name\t: a processor
flags\t\t: fpu sse sse2 avx avx2 fma {extra}

processor\t: 1
flags\t\t: something else
"""
AARCH64 = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 {extra}
CPU implementer\t: 0x41
"""


AMD, INTEL = "AuthenticAMD", "GenuineIntel"


@pytest.mark.parametrize(("cpuinfo", "vendor", "extra", "faster"), [
    (X86, AMD, "", False),                                    # AVX2 only (Zen 3): emulated, nine times slower
    (X86, INTEL, "", False),                                  # AVX2 only (Haswell to Ice Lake client)
    (X86, INTEL, "avx512f avx512bw", False),                  # AVX-512 without its bfloat16 dot product (Skylake-SP)
    (X86, AMD, "avx512f avx512_bf16", True),                  # Zen 4: float32's AVX-512 at half width
    (X86, INTEL, "avx512f avx512_bf16", False),               # Cooper Lake, or a Xeon whose AMX is hidden: slower
    (X86, INTEL, "avx512f avx512_bf16 amx_bf16 amx_tile", True),  # Sapphire Rapids and later
    (AARCH64, None, "asimddp", False),
    (AARCH64, None, "asimddp bf16 i8mm", True),               # Graviton 3, Neoverse V1 and later
])
def test_bfloat16_speed_from_cpuinfo(tmp_path, cpuinfo, vendor, extra, faster):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo.format(vendor=vendor, extra=extra))
    assert bfloat16_is_faster(path) is faster


def test_the_first_processor_s_flags_are_read():
    assert cpu_flags(cpuinfo_fields(X86.format(vendor=AMD, extra="avx512_bf16"))) == {
        "fpu", "sse", "sse2", "avx", "avx2", "fma", "avx512_bf16"}


def test_no_cpuinfo_means_float32(tmp_path):
    assert bfloat16_is_faster(tmp_path / "missing") is False


@pytest.mark.parametrize(("precision", "compute", "faster", "policy"), [
    ("auto", "fast", True, "mixed_bfloat16"),
    ("auto", "fast", False, "float32"),
    # The portable profile computes in float32 on every CPU: bfloat16's instructions exist on some only.
    ("auto", "portable", True, "float32"),
    # An explicit choice stands, whatever the CPU and the profile.
    ("float32", "fast", True, "float32"),
    ("mixed_bfloat16", "fast", False, "mixed_bfloat16"),
    ("mixed_bfloat16", "portable", False, "mixed_bfloat16"),
])
def test_auto_precision_follows_the_profile_and_the_cpu(precision, compute, faster, policy):
    assert compute_precision(precision, compute, bfloat16_faster=faster) == policy
