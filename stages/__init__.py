"""The pipeline's stage scripts, run by DVC as ``python -m stages.<name>`` (see dvc.yaml).

Importing the package, which Python does before it runs any stage script, does two things first:

- It checks that this Python has the project's dependencies. DVC runs a stage's ``python`` from PATH, so `dvc`
  started as ``.venv/bin/dvc`` in a shell that has not activated the environment runs the stages with the
  system's Python: that must end in a message that says so, not in an import error.
- It pins the kernels NumPy and OpenBLAS will choose (:mod:`mnist_pipeline.cpu_dispatch`), which they read
  once as they load: the stage's float results then are the same on any x86-64 CPU with AVX2.

And it lets the stage's process end without Python's last garbage collections (:mod:`mnist_pipeline.process_exit`),
a second of a `train_nn` spent after its work is done.
"""

import importlib.util
import sys

_REQUIRED = ("numpy", "yaml", "tqdm", "sklearn", "skops", "matplotlib", "keras", "tensorflow", "dvclive",
             "threadpoolctl")
_missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
if _missing:
    sys.exit(f"ERROR: {sys.executable} ran this stage, but it lacks {', '.join(_missing)}: it is not the project's "
             f"Python. Activate the project's environment first (`source .venv/bin/activate`, made by "
             f"`make repro`), or run the pipeline with `make repro`.")

from mnist_pipeline.cpu_dispatch import pin_libraries  # noqa: E402  (after the check: it needs the project)
from mnist_pipeline.process_exit import skip_final_collection  # noqa: E402

pin_libraries()
skip_final_collection()
