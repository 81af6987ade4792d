"""Which CPU kernels NumPy and OpenBLAS run, pinned so that float results are the same on any x86-64 with AVX2.

NumPy and the OpenBLAS builds inside NumPy's and SciPy's wheels choose their kernels from the CPU they find:
AVX-512 versions where it exists, AVX2 ones elsewhere, and each adds up in its own order. OpenBLAS also splits a
matrix product over its threads, and the split changes the order of additions: the same product on 1, 2 and 4
threads can give three different last bits. Each stage therefore sets, before NumPy loads, the variables that
both libraries read once at load time: AVX2 kernels (OpenBLAS's ``Haswell`` core type, NumPy's dispatch to
AVX-512 turned off) and one OpenBLAS thread. A user's own values of those variables are overridden, since a stage's
outputs must depend only on what dvc.yaml declares.

TensorFlow's kernels are pinned the same way by :mod:`mnist_pipeline.tensorflow_env`, from ``train_nn.compute``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

from mnist_pipeline.cpu import CPUINFO, cpu_flags, cpuinfo_fields

# Read by NumPy and OpenBLAS when they load, so they must be in the environment before the first `import numpy`.
LIBRARY_ENVIRONMENT = {
    # OpenBLAS's AVX2 kernels. AMD's Zen cores run the same ones under the name "Zen".
    "OPENBLAS_CORETYPE": "Haswell",
    # Wins over OMP_NUM_THREADS and GOTO_NUM_THREADS, which OpenBLAS also reads.
    "OPENBLAS_NUM_THREADS": "1",
    # NumPy 2's dispatch targets above AVX2 (X86_V3); a name this CPU lacks is ignored.
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}
BLAS_CORE_TYPES = frozenset({"haswell", "zen"})
# What the pinned kernels need of the processor.
REQUIRED_FLAGS = frozenset({"avx2", "fma"})


def pin_libraries(environ: MutableMapping[str, str] = os.environ, loaded=sys.modules) -> bool:
    """Set :data:`LIBRARY_ENVIRONMENT` in ``environ``; False, changing nothing, where NumPy is already ``loaded``
    (a test or notebook process: setting them then would only reach the processes it starts)."""
    if "numpy" in loaded:
        return False
    environ.update(LIBRARY_ENVIRONMENT)
    return True


def blas_libraries() -> list[dict]:
    """threadpoolctl's record of each BLAS library loaded in this process: its kernels and threads."""
    import threadpoolctl

    return [info for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]


def numpy_features_above_avx2() -> list[str]:
    """NumPy's dispatch targets above AVX2 that this process uses: none once pinned."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if name != "X86_V3" and __cpu_features__.get(name)]


def unpinned(blas: list[dict], numpy_features: list[str], flags: set[str]) -> list[str]:
    """What keeps this process's NumPy and BLAS from the pinned kernels, one sentence each (empty: nothing)."""
    problems = []
    missing = sorted(REQUIRED_FLAGS - flags) if flags else []
    if missing:
        problems.append(f"this CPU lacks {', '.join(missing)}, so the libraries run older kernels")
    for library in blas:
        name = _name(library)
        if library.get("internal_api") != "openblas":
            problems.append(f"{name} is {library.get('internal_api')}, not OpenBLAS")
            continue
        if str(library.get("architecture", "")).lower() not in BLAS_CORE_TYPES:
            problems.append(f"{name} runs {library.get('architecture')} kernels, not Haswell")
        if library.get("num_threads") != 1:
            problems.append(f"{name} runs {library.get('num_threads')} threads, not 1")
    if numpy_features:
        problems.append(f"NumPy dispatches to {', '.join(numpy_features)}")
    return problems


def _name(library: dict) -> str:
    """A BLAS library's file name without its build hash: ``libscipy_openblas64_`` (NumPy's), ``libscipy_openblas``."""
    return os.path.basename(library.get("filepath") or library.get("prefix") or "BLAS").split("-")[0]


def describe(blas: list[dict], numpy_features: list[str], onednn_isa: str | None = None) -> str:
    """One line for a stage's log: the kernels and threads NumPy and each BLAS library run, and oneDNN's cap on
    its instructions where TensorFlow ran (``onednn_isa``)."""
    libraries = ", ".join(f"{_name(library)} {library.get('architecture')} x{library.get('num_threads')}"
                          for library in blas) or "no BLAS loaded"
    numpy_part = "up to AVX2" if not numpy_features else f"with {', '.join(numpy_features)}"
    onednn = f"; oneDNN up to {onednn_isa}" if onednn_isa else ""
    return f"NumPy dispatch {numpy_part}; {libraries}{onednn}"


def check_this_process() -> tuple[str, list[str]]:
    """:func:`describe` and :func:`unpinned` for the libraries this process has loaded."""
    try:
        flags = cpu_flags(cpuinfo_fields(CPUINFO.read_text()))
    except OSError:
        flags = set()
    blas, features = blas_libraries(), numpy_features_above_avx2()
    onednn_isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL") if "tensorflow" in sys.modules else None
    return describe(blas, features, onednn_isa), unpinned(blas, features, flags)
