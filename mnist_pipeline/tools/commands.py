"""The one way the tools run a git, DVC or GTO command: for its output, or for as long as it works, interruptible."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from mnist_pipeline.errors import PipelineError


def output_of(command: list[str], cwd: Path) -> str:
    """The standard output of ``command`` run in ``cwd``; :class:`PipelineError` with its message if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


# The signals that stop a tool as Ctrl-C does: a `timeout` or a cancelled job (SIGTERM), a closed terminal (SIGHUP).
STOPPING = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def interrupts_as_ctrl_c() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` as Ctrl-C does, so that a tool stops the
    commands it runs and cleans up the same way for all three; the previous handlers come back after."""
    def interrupt(signum: int, frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {signum: signal.signal(signum, interrupt) for signum in STOPPING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: a handler set in C


def run_interruptible(command: list[str], cwd: Path, **popen: object) -> int:
    """Run ``command`` in ``cwd`` in a process group of its own, for as long as it works; its exit status.

    Interrupted (``KeyboardInterrupt``: Ctrl-C, which then reaches this process alone, or a signal that
    :func:`interrupts_as_ctrl_c` turns into one), it sends the command's group the SIGINT a terminal's Ctrl-C sends,
    so that the command and every process it started stop as they would at a terminal (DVC stops its stage and
    removes its temporary copies), waits for it, and raises the interrupt again. An impatient second interrupt
    sends SIGTERM, a third SIGKILL."""
    process = subprocess.Popen(command, cwd=cwd, start_new_session=True, **popen)
    try:
        return process.wait()
    except KeyboardInterrupt:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):  # it ended before the signal: nothing left to stop
                os.killpg(process.pid, signum)
            try:
                process.wait()
                break
            except KeyboardInterrupt:
                continue
        raise
