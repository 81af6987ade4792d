"""Runs a stage script's ``main``: logging set-up, and every failure a user can cause as a clear message.

A stage's ``main(root)`` raises :class:`PipelineError` for what it can name itself (bad params, a corrupt
input); a missing input surfaces as ``FileNotFoundError`` from wherever it was opened. Both end the stage
with one log line and exit status 1, never a traceback. Ctrl-C, SIGTERM and SIGHUP end it with status 130 after
its temporary outputs are removed (:func:`mnist_pipeline.artifacts.atomic_path`).

A stage that finished logs the kernels and threads its NumPy and BLAS libraries ran
(:mod:`mnist_pipeline.cpu_dispatch`), and warns where they are not the pinned ones: its outputs may then differ
from another machine's.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from mnist_pipeline.cpu_dispatch import check_this_process
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.interrupts import interrupts_as_ctrl_c

log = logging.getLogger("mnist_pipeline")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a user's error ends it with its message and exit status 1 (130 if interrupted)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with interrupts_as_ctrl_c():  # a `kill`, a CI timeout or a closed terminal unwinds as Ctrl-C does
            main()
    except PipelineError as error:
        log.error("%s", error)
        sys.exit(1)
    except FileNotFoundError as error:
        log.error("%s not found: it is an earlier stage's output or a project file; run `dvc repro` (or "
                  "`dvc pull` to fetch the outputs from the remote) in the project root", error.filename)
        sys.exit(1)
    except KeyboardInterrupt:
        log.error("interrupted; no output was left half-written")
        sys.exit(130)
    report_kernels(_stage_name(main))


def report_kernels(stage: str) -> None:
    """Log what NumPy, BLAS and oneDNN ran in ``stage``; warn where it was not the portable kernels."""
    description, problems = check_this_process()
    log.info("%s kernels: %s", stage, description)
    for problem in problems:
        log.warning("%s did not run the portable kernels: %s; its float outputs may differ from another "
                    "machine's", stage, problem)


def _stage_name(main: Callable) -> str:
    """``train_nn`` for the ``main`` of ``python -m stages.train_nn``, whose module is ``__main__``."""
    spec = getattr(main, "__globals__", {}).get("__spec__")
    return spec.name.rsplit(".", 1)[-1] if spec else "stage"
