"""The one place that sets up TensorFlow's logging; everything that uses TensorFlow imports it through here.

TensorFlow's C++ start-up notices (oneDNN, CPU features) bury a stage's own log and a command's own
messages, so its C++ log level is set to warnings before the first import.
"""

from __future__ import annotations

import contextlib
import os
import sys


def quiet_tensorflow_logs() -> None:
    """Keep TensorFlow's C++ log to warnings and errors; a user's own ``TF_CPP_MIN_LOG_LEVEL`` wins."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow(*, hide_startup_notices: bool = False):
    """Import and return TensorFlow with its C++ log level set by :func:`quiet_tensorflow_logs`.

    Some start-up notices go straight to file descriptor 2 before TensorFlow's logging exists, whatever the
    log level says; ``hide_startup_notices`` sends them to /dev/null, for a command whose stderr is for its
    own messages. A failing import still raises, with its traceback, once stderr is back.

    Once TensorFlow is imported there is nothing left to set up, and it is returned at once: code that TensorFlow
    traces (a ``tf.data`` map) calls this too, and AutoGraph would otherwise convert the call to
    ``os.environ.setdefault`` and log a warning that quotes the whole environment.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    quiet_tensorflow_logs()
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
