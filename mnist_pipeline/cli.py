"""What every stage script shares: logging set-up and turning pipeline errors into a clear exit."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

from mnist_pipeline.errors import PipelineError

log = logging.getLogger("mnist_pipeline")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a :class:`PipelineError` ends it with its message and exit status 1.

    SIGTERM (what `kill` and CI timeouts send) is turned into an exception like Ctrl-C's
    SIGINT, so the stage unwinds and its half-written temporary outputs are removed.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        main()
    except PipelineError as error:
        log.error("%s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        log.error("interrupted; no output was left half-written")
        sys.exit(130)


def _raise_interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")
