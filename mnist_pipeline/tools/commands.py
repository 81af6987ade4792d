"""The one way the tools run a git, DVC or GTO command whose output they read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mnist_pipeline.errors import PipelineError


def output_of(command: list[str], cwd: Path) -> str:
    """The standard output of ``command`` run in ``cwd``; :class:`PipelineError` with its message if it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout
