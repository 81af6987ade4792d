"""The kernels each stage pins before NumPy loads, and how a stage tells whether they took (unit tests; the stages'
own runs are checked end to end in test_portable.py)."""

from mnist_pipeline.cpu_dispatch import LIBRARY_ENVIRONMENT, describe, pin_libraries, unpinned

HASWELL = {"user_api": "blas", "internal_api": "openblas", "architecture": "Haswell", "num_threads": 1,
           "filepath": "/venv/numpy.libs/libscipy_openblas64_-32a4b2a6.so"}
AVX2 = {"avx2", "fma"}


def test_a_users_own_values_are_overridden_before_numpy_loads():
    users = {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "16", "NPY_DISABLE_CPU_FEATURES": "",
             "HOME": "/home/user"}
    assert pin_libraries(users, loaded={})
    assert users == {**LIBRARY_ENVIRONMENT, "HOME": "/home/user"}


def test_nothing_is_changed_once_numpy_is_loaded():
    # In a test or notebook process the libraries already chose: setting the variables then would only reach the
    # processes it starts.
    environ = {"OPENBLAS_NUM_THREADS": "16"}
    assert not pin_libraries(environ, loaded={"numpy": object()})
    assert environ == {"OPENBLAS_NUM_THREADS": "16"}


def test_pinned_kernels_pass_and_zen_is_haswells_name_on_amd():
    assert unpinned([HASWELL, {**HASWELL, "architecture": "Zen"}], [], AVX2) == []


def test_each_way_of_missing_the_pins_is_named():
    problems = unpinned([{**HASWELL, "architecture": "SkylakeX", "num_threads": 2},
                         {**HASWELL, "internal_api": "mkl", "filepath": "/opt/libmkl_rt.so.2"}],
                        ["X86_V4", "AVX512_ICL"], {"sse2"})
    assert problems == ["this CPU lacks avx2, fma, so the libraries run older kernels",
                        "libscipy_openblas64_ runs SkylakeX kernels, not Haswell",
                        "libscipy_openblas64_ runs 2 threads, not 1",
                        "libmkl_rt.so.2 is mkl, not OpenBLAS",
                        "NumPy dispatches to X86_V4, AVX512_ICL"]


def test_the_log_line_names_the_kernels_and_threads():
    assert describe([HASWELL], []) == "NumPy dispatch up to AVX2; libscipy_openblas64_ Haswell x1"
    assert describe([], ["X86_V4"], "AVX2") == "NumPy dispatch with X86_V4; no BLAS loaded; oneDNN up to AVX2"
