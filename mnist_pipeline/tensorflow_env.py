"""The one place that sets up TensorFlow before its import; everything that uses TensorFlow imports it through here.

TensorFlow's C++ start-up notices (oneDNN, CPU features) bury a stage's own log and a command's own
messages, so its C++ log level is set to warnings before the first import.

TensorFlow runs its convolutions and matrix products on oneDNN's kernels only where it finds AVX-512's
deep-learning instructions or AMX in the CPU, and on Eigen's everywhere else: on AVX2 machines (AMD's Zen 2 and
Zen 3, Intel's cores before Ice Lake) the default network's training step took 0.81 of the time on oneDNN's
(88 ms against 102 on an AMD EPYC of the Zen 3 generation, ``python -m benchmarks.bench_towers``), so they are
turned on everywhere.
A user's own ``TF_ENABLE_ONEDNN_OPTS`` wins, and a process with ``MNIST_TENSORFLOW_DEFAULTS`` set keeps
TensorFlow's own choice, as a user's own script gets it (the reference recipes of ``benchmarks``).
"""

from __future__ import annotations

import contextlib
import os
import sys

ONEDNN_OPTS = "TF_ENABLE_ONEDNN_OPTS"
KEEP_DEFAULTS = "MNIST_TENSORFLOW_DEFAULTS"
# What configure_environment set in this process, as opposed to what the user had set.
_set_here: dict[str, str] = {}


def configure_environment() -> None:
    """Set TensorFlow's C++ log level to warnings and turn on oneDNN's kernels (unless ``KEEP_DEFAULTS`` is set);
    a user's own ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` win. Read by TensorFlow at its import."""
    _setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if KEEP_DEFAULTS not in os.environ:
        _setdefault(ONEDNN_OPTS, "1")


def _setdefault(name: str, value: str) -> None:
    if name not in os.environ:
        os.environ[name] = value
        _set_here[name] = value


@contextlib.contextmanager
def tensorflow_defaults():
    """Inside the block, this process's environment is what a process needs to run TensorFlow under its own
    defaults: without what :func:`configure_environment` set, and with ``KEEP_DEFAULTS``. For starting one; the
    TensorFlow already imported here keeps its settings."""
    saved = dict(os.environ)
    for name, value in _set_here.items():
        if os.environ.get(name) == value:
            del os.environ[name]
    os.environ[KEEP_DEFAULTS] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def import_tensorflow(*, hide_startup_notices: bool = False):
    """Import and return TensorFlow, set up by :func:`configure_environment`.

    Some start-up notices go straight to file descriptor 2 before TensorFlow's logging exists, whatever the
    log level says; ``hide_startup_notices`` sends them to /dev/null, for a command whose stderr is for its
    own messages. A failing import still raises, with its traceback, once stderr is back.

    Once TensorFlow is imported there is nothing left to set up, and it is returned at once: code that TensorFlow
    traces (a ``tf.data`` map) calls this too, and AutoGraph would otherwise convert the set-up's calls to
    ``os.environ`` and log a warning that quotes the whole environment.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    configure_environment()
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
