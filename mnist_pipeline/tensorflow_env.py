"""The one place that sets up TensorFlow's logging; everything that uses TensorFlow imports it through here.

TensorFlow's C++ start-up notices (oneDNN, CPU features) bury a stage's own log and a command's own
messages, so its C++ log level is set to warnings before the first import.
"""

from __future__ import annotations

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
    """
    quiet_tensorflow_logs()
    if not hide_startup_notices or "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no stderr to silence
        import tensorflow

        return tensorflow
    os.dup2(devnull, 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


def import_keras():
    """Import and return Keras, its TensorFlow backend imported first by :func:`import_tensorflow`."""
    import_tensorflow()
    import keras

    return keras
