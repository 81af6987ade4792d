"""How the tools run a git or DVC command: for its output, or for as long as it works, interruptible."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from mnist_pipeline.errors import PipelineError


def output_of(command: list[str], cwd: Path) -> str:
    """The standard output of ``command`` run in ``cwd``; :class:`PipelineError` with its message if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


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
