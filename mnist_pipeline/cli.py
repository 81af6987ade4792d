"""What every stage script shares: logging set-up and turning pipeline errors into a clear exit."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from mnist_pipeline.errors import PipelineError

log = logging.getLogger("mnist_pipeline")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a :class:`PipelineError` ends it with its message and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        main()
    except PipelineError as error:
        log.error("%s", error)
        sys.exit(1)
