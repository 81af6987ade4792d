"""How the tools run a command for as long as it works: in a process group of its own, stopped as Ctrl-C at a
terminal stops it, whatever interrupted the tool (Ctrl-C, SIGTERM, SIGHUP)."""

import os
import signal
import sys
import threading
import time

import pytest

from mnist_pipeline.interrupts import STOPPING, interrupts_as_ctrl_c
from mnist_pipeline.tools import commands
from mnist_pipeline.tools.commands import run_interruptible

# A command that starts a process of its own, as `dvc repro` starts a stage; each notes the SIGINT it gets.
PARENT = """
import pathlib, signal, subprocess, sys, time
folder = pathlib.Path(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", sys.argv[2], str(folder)])
def stop(signum, frame):
    child.wait()
    (folder / "parent").write_text("SIGINT")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
while not (folder / "child-ready").exists():
    time.sleep(0.01)
(folder / "ready").write_text("")
time.sleep(60)
"""
CHILD = """
import pathlib, signal, sys, time
folder = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGINT, lambda signum, frame: ((folder / "child").write_text("SIGINT"), sys.exit(130)))
(folder / "child-ready").write_text("")
time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stopping_signal_reaches_the_command_and_what_it_started_as_ctrl_c(tmp_path, signum):
    def send_when_ready():
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signum)  # to this process alone: the command is in a group of its own

    handlers = {s: signal.getsignal(s) for s in STOPPING}
    threading.Thread(target=send_when_ready, daemon=True).start()
    with pytest.raises(KeyboardInterrupt), interrupts_as_ctrl_c():
        run_interruptible([sys.executable, "-c", PARENT, str(tmp_path), CHILD], tmp_path)
    assert (tmp_path / "parent").read_text() == (tmp_path / "child").read_text() == "SIGINT"
    assert {s: signal.getsignal(s) for s in STOPPING} == handlers  # the caller's handlers back


def test_the_exit_status_is_the_commands(tmp_path):
    assert run_interruptible([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path) == 3


class Process:
    """`Popen` of a command that an interrupt reaches as it waits, ``interrupts`` times in a row."""

    def __init__(self, interrupts: int):
        self.pid, self.interrupts, self.waits = 4321, interrupts, 0

    def wait(self):
        self.waits += 1
        if self.waits <= self.interrupts:
            raise KeyboardInterrupt
        return -signal.SIGINT


@pytest.mark.parametrize(("interrupts", "sent"), [
    (1, [signal.SIGINT]),  # Ctrl-C: the command stops as at a terminal
    (2, [signal.SIGINT, signal.SIGTERM]),  # Ctrl-C again while it stops
    (3, [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]),
])
def test_each_further_interrupt_stops_the_command_more_firmly(tmp_path, monkeypatch, interrupts, sent):
    process, signals = Process(interrupts), []
    monkeypatch.setattr(commands.subprocess, "Popen", lambda *args, **kwargs: process)
    monkeypatch.setattr(commands.os, "killpg", lambda group, signum: signals.append((group, signum)))
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(["dvc", "exp", "run"], tmp_path)
    assert signals == [(4321, signum) for signum in sent]


def test_a_command_that_ended_before_its_signal_is_no_error(tmp_path, monkeypatch):
    def gone(group, signum):
        raise ProcessLookupError  # it ended between the interrupt and the signal

    monkeypatch.setattr(commands.subprocess, "Popen", lambda *args, **kwargs: Process(1))
    monkeypatch.setattr(commands.os, "killpg", gone)
    with pytest.raises(KeyboardInterrupt):  # the interrupt, not a ProcessLookupError traceback
        run_interruptible(["dvc", "exp", "run"], tmp_path)
