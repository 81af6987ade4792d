"""Interrupts: the signals that stop a program as Ctrl-C does, and during a network's training, those honoured
between two batches rather than inside TensorFlow.

A stage (:mod:`mnist_pipeline.stage_runner`) and the tools that run DVC take SIGTERM (a ``kill``, a CI timeout) and
SIGHUP (a closed terminal) as Ctrl-C (:func:`interrupts_as_ctrl_c`), so that all three clean up the same way.

Python raises ``KeyboardInterrupt`` wherever the main thread is when the signal is handled. Inside Keras's ``fit``
that can be the middle of TensorFlow's own work (a dataset iterator, a compiled function's call), and unwinding
from there can abort the whole process (glibc's ``free(): invalid next size``, exit status -6) before the stage
removes its temporary outputs. Within :func:`between_batches`, the first signal only asks the training to stop at
the end of the batch in progress; once ``fit`` has returned, ``KeyboardInterrupt`` is raised from plain Python,
and the stage ends as any interrupted stage does (:mod:`mnist_pipeline.stage_runner`). A second signal interrupts
at once, for a user who will not wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The signals that stop a program as Ctrl-C does: a `kill`, a `timeout` or a cancelled job (SIGTERM), a closed
# terminal (SIGHUP).
STOPPING = (signal.SIGTERM, signal.SIGHUP)
# What the training honours between two batches: Ctrl-C and those.
SIGNALS = (signal.SIGINT, *STOPPING)


@contextmanager
def interrupts_as_ctrl_c() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does, so that a program cleans up
    the same way for all three; the previous handlers come back after. A signal the process ignores stays ignored:
    ``nohup make repro &`` ignores SIGHUP so that the run outlives its terminal, and its stages inherit that."""
    def interrupt(signum: int, frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {signum: signal.signal(signum, interrupt) for signum in STOPPING
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: a handler set in C


class StopRequest:
    """What the signal handler records, and what the training reads after each batch."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, frame) -> None:
        if self:
            raise KeyboardInterrupt(f"signal {signum}, a second time")
        self.signum = signum

    def keras_callback(self, keras):
        """A callback of the ``keras`` module given that ends ``fit`` after the batch in progress once a stop is
        requested. Keras is passed in, not imported: a stage that only takes SIGTERM as Ctrl-C needs no TensorFlow."""
        request = self

        class StopBetweenBatches(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if request:
                    self.model.stop_training = True

        return StopBetweenBatches()


@contextmanager
def between_batches() -> Iterator[StopRequest]:
    """Within the block, :data:`SIGNALS` are recorded, not raised; on leaving it, ``KeyboardInterrupt`` if one came.

    A signal the process ignores (a job started in the background ignores SIGINT) stays ignored. Outside the main
    thread, where Python cannot install handlers, the signals keep their usual effect.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, request.handle)
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if request:
        raise KeyboardInterrupt(f"signal {request.signum}")
