"""``python -m mnist_pipeline.tools.tune STUDY``: the search of :mod:`mnist_pipeline.tools.tune`."""

import sys

from mnist_pipeline.tools.tune.runner import main

sys.exit(main())
