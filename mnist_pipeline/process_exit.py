"""A process that exits without Python's last garbage collections.

As the interpreter exits, after the program's own work and its ``atexit`` handlers, it clears every module and
collects the garbage left, walking every object still alive, more than once. With the libraries the project loads
that walk is most of a second spent on nothing. :func:`skip_final_collection` freezes the objects alive at exit
first (:func:`gc.freeze`), which the collections then pass over. ``python -m benchmarks.bench_exit`` measures it:
on an AMD EPYC (Zen 5), a process with scikit-learn, SciPy, pandas and Matplotlib loaded ended 0.44 s after its
first ``atexit`` handler, 0.04 s with the objects frozen; with TensorFlow too, 1.23 s and 0.12 s.

Nothing a program relies on is lost: the ``atexit`` handlers all run, objects whose last reference goes as the
modules are cleared are freed as before (an open file is closed and flushed), and what the collections would have
freed is only garbage in reference cycles, whose finalisers Python never promises to run at exit (the ``__del__``
note of the language reference). The project's outputs are written and closed before a process ends.
"""

from __future__ import annotations

import atexit
import functools
import gc


@functools.cache  # once a process, however often a program calls it (mnist-predict's main, in the tests)
def skip_final_collection() -> None:
    """Have the process freeze every object alive as it exits, so that the interpreter's last collections pass
    over them. ``atexit`` runs its handlers last registered first: those registered after the first call run before
    the freeze, those registered earlier after it, and all of them run."""
    atexit.register(gc.freeze)
