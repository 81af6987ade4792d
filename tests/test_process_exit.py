"""A process that skips Python's last garbage collections still runs every atexit handler and flushes its files."""

import subprocess
import sys

SCRIPT = """
import atexit, gc
from mnist_pipeline.process_exit import skip_final_collection
atexit.register(lambda: print("registered first, run last: the objects frozen", gc.get_freeze_count() > 0))
skip_final_collection()
skip_final_collection()  # once a process
atexit.register(lambda: print("registered last, run first: nothing frozen yet", gc.get_freeze_count() == 0))
log = open(sys.argv[1], "w")  # never closed: freed, and so flushed, as its module is cleared
log.write("every line\\n" * 1000)
print("handlers:", atexit._ncallbacks())
"""


def test_every_handler_runs_around_the_freeze_and_an_open_file_is_flushed(tmp_path):
    log = tmp_path / "log.txt"
    done = subprocess.run([sys.executable, "-c", "import sys\n" + SCRIPT, str(log)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.splitlines() == ["handlers: 3", "registered last, run first: nothing frozen yet True",
                                        "registered first, run last: the objects frozen True"]
    assert log.read_text() == "every line\n" * 1000
