"""The one place that sets up TensorFlow before its import; everything that uses TensorFlow imports it through here.

TensorFlow's C++ start-up notices (oneDNN, CPU features) bury a stage's own log and a command's own
messages, so its C++ log level is set to warnings before the first import.

The rest decides which kernels compute, and so the float results. TensorFlow runs its convolutions and matrix
products on oneDNN's kernels only where it finds AVX-512's deep-learning instructions or AMX in the CPU, and on
Eigen's everywhere else; oneDNN's are faster on AVX2 machines too (``python -m benchmarks.bench_towers``), so they
are turned on everywhere. oneDNN then generates code for the widest instructions it finds, and each width adds
up in its own order: a compute profile (``train_nn.compute``) decides how far it may go.

- ``portable``: oneDNN's AVX2 kernels, on every CPU that has AVX2, so a model trains to the same bytes on any
  such x86-64 (AMD's or Intel's, any generation).
- ``fast``: every instruction the CPU has (AVX-512, AMX), and bfloat16 where it trains faster
  (:mod:`mnist_pipeline.cpu`): the outputs are then this kind of CPU's own.

Both keep oneDNN's float32 arithmetic strict (a user's ``ONEDNN_DEFAULT_FPMATH_MODE=BF16`` would round each
float32 product to bfloat16). These variables are set whatever the user's shell says, since a stage's outputs
must depend only on what dvc.yaml declares; oneDNN reads them before its first kernel. Only a process with
``MNIST_TENSORFLOW_DEFAULTS`` set keeps TensorFlow's own choices, as a user's own script gets them (the
reference recipes of ``benchmarks``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import typing
from typing import Literal

ONEDNN_OPTS = "TF_ENABLE_ONEDNN_OPTS"
ONEDNN_ISA = "ONEDNN_MAX_CPU_ISA"
ONEDNN_FPMATH = "ONEDNN_DEFAULT_FPMATH_MODE"
KEEP_DEFAULTS = "MNIST_TENSORFLOW_DEFAULTS"
Compute = Literal["portable", "fast"]
COMPUTE_PROFILES = typing.get_args(Compute)
# oneDNN's cap on the instructions its kernels use, for each profile ("ALL": no cap).
MAX_ISA = {"portable": "AVX2", "fast": "ALL"}
# What configure_environment changed in this process: each variable's value before (None: it was unset).
_before: dict[str, str | None] = {}
# The profile configure_environment last set in this process.
_profile: str | None = None


def kernel_environment(compute: str) -> dict[str, str]:
    """The variables of TensorFlow and oneDNN that decide the kernels, as the ``compute`` profile sets them."""
    if compute not in MAX_ISA:
        raise ValueError(f"unknown compute profile {compute!r}; choose one of {list(COMPUTE_PROFILES)}")
    return {ONEDNN_OPTS: "1", ONEDNN_ISA: MAX_ISA[compute], ONEDNN_FPMATH: "STRICT"}


def configure_environment(compute: str | None = None) -> str:
    """Set TensorFlow's C++ log level to warnings (unless the user set one) and the kernels of the ``compute``
    profile (:func:`kernel_environment`; None: the profile already set in this process, else ``portable``),
    unless ``KEEP_DEFAULTS`` is set. Returns the profile in force.

    TensorFlow and oneDNN read these before their first kernel: a later call with another profile, once
    TensorFlow has run, changes the environment but not the kernels.
    """
    global _profile
    compute = compute or _profile or "portable"
    _set("TF_CPP_MIN_LOG_LEVEL", "2", override=False)
    if KEEP_DEFAULTS not in os.environ:
        for name, value in kernel_environment(compute).items():
            _set(name, value)
    _profile = compute
    return compute


def _set(name: str, value: str, *, override: bool = True) -> None:
    if name in os.environ and (not override or os.environ[name] == value):
        return
    _before.setdefault(name, os.environ.get(name))
    os.environ[name] = value


def intra_op_threads(threads: int, compute: str, cores: int) -> int:
    """The threads an op gets: ``threads`` where params.yaml fixes them (not 0); else one under the portable
    profile and ``cores`` (at least one) under the fast one.

    Some kernels split a sum among their threads, so the count is an input of the bytes: the tests' tiny network
    trained with 2 threads a tower wrote another file than with 1, and the default network's probabilities came
    out with other last bits on 8 threads than on 1 or 2. Only a count that does not follow the cores gives the
    same bytes on a machine with more of them.
    """
    if threads:
        return threads
    return 1 if compute == "portable" else max(1, cores)


def set_thread_pools(intra: int, inter: int | None = None) -> bool:
    """Size TensorFlow's intra-op pool (threads an op) and, if given, its inter-op pool (ops side by side); False
    where TensorFlow already ran in this process, whose pools then keep their sizes."""
    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        if inter is not None:
            tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def tensorflow_defaults():
    """Inside the block, this process's environment is what a process needs to run TensorFlow under its own
    defaults: what :func:`configure_environment` changed put back as the user had it, and ``KEEP_DEFAULTS`` set.
    For starting one; the TensorFlow already imported here keeps its settings."""
    saved = dict(os.environ)
    for name, value in _before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    os.environ[KEEP_DEFAULTS] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def import_tensorflow(*, hide_startup_notices: bool | None = None):
    """Import and return TensorFlow, set up by :func:`configure_environment`.

    Some start-up notices (``All log messages before absl::InitializeLog()``, ``oneDNN custom operations are
    on``) go straight to file descriptor 2 before TensorFlow's logging exists, whatever the log level says.
    ``hide_startup_notices`` sends them to /dev/null; by default they are hidden unless the user asked for
    TensorFlow's informational logs (``TF_CPP_MIN_LOG_LEVEL=0``). A failing import still raises, with its
    traceback, once stderr is back.

    Once TensorFlow is imported there is nothing left to set up, and it is returned at once: code that TensorFlow
    traces (a ``tf.data`` map) calls this too, and AutoGraph would otherwise convert the set-up's calls to
    ``os.environ`` and log a warning that quotes the whole environment.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    configure_environment()
    if hide_startup_notices is None:
        hide_startup_notices = os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0"
    with _stderr_to_devnull() if hide_startup_notices else contextlib.nullcontext():
        import tensorflow
    return tensorflow


@contextlib.contextmanager
def _stderr_to_devnull():
    """File descriptor 2 points at /dev/null inside the block (left alone where there is no stderr)."""
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Import and return Keras, its TensorFlow backend imported first by :func:`import_tensorflow`."""
    import_tensorflow()
    import keras

    return keras
