"""The same bytes on any machine: the tiny run's outputs against the hashes committed beside this file.

Under ``train_nn.compute: portable`` (the default) every stage pins its kernels and its threads, so these hashes
hold on any x86-64 CPU with AVX2, whatever made them: every machine the tests run on is a cross-machine check.
The audit's rerun under a user's thread, oneDNN and NumPy settings is in test_reproducibility.py; the thread
counts in test_towers.py and test_cpu_dispatch.py.
"""

import os
import sys
from pathlib import Path

import yaml

from mnist_pipeline.cpu import CPUINFO, cpu_flags, cpuinfo_fields

HASHES = Path(__file__).with_name("tiny_run_hashes.yaml")
# What a stage's process runs: the package's pins first, then NumPy and SciPy's BLAS, as a stage loads them.
KERNELS = ("import stages, numpy, scipy.linalg; from mnist_pipeline.cpu_dispatch import check_this_process; "
           "print(check_this_process())")


def lock_outputs(project) -> dict[str, dict[str, str]]:
    """Each stage's outputs and their md5 in the project's dvc.lock (a folder's ends in ``.dir``)."""
    lock = yaml.safe_load((project.root / "dvc.lock").read_text())
    return {stage: {out["path"]: out["md5"] for out in entry.get("outs", [])}
            for stage, entry in lock["stages"].items()}


def this_machine(project) -> str:
    """The CPU, its vector instructions and the kernels a stage's process runs: what a mismatch is read with."""
    fields = cpuinfo_fields(CPUINFO.read_text()) if CPUINFO.exists() else {}
    flags = sorted(flag for flag in cpu_flags(fields) if flag.startswith(("avx", "amx", "fma", "sse4")))
    kernels = project.run(sys.executable, "-c", KERNELS, check=False)
    return "\n".join([
        f"CPU: {fields.get('model name', 'unknown')} ({fields.get('vendor_id', '?')}, family "
        f"{fields.get('cpu family', '?')}, model {fields.get('model', '?')}), {os.cpu_count()} cores",
        f"flags: {' '.join(flags)}",
        f"kernels in a stage's process (description, problems): {kernels.stdout.strip() or kernels.stderr}",
    ])


def test_the_tiny_run_writes_the_committed_bytes(tiny_run):
    expected, got = yaml.safe_load(HASHES.read_text()), lock_outputs(tiny_run)
    differing = [f"  {stage}: {path}: committed {expected.get(stage, {}).get(path)}, this run {md5}"
                 for stage, outputs in got.items() for path, md5 in outputs.items()
                 if expected.get(stage, {}).get(path) != md5]
    missing = [f"  {stage}: {path}: committed {md5}, not written" for stage, outputs in expected.items()
               for path, md5 in outputs.items() if path not in got.get(stage, {})]
    assert not differing + missing, "\n".join([
        "The tiny run's outputs differ from tests/tiny_run_hashes.yaml:", *differing, *missing, "",
        this_machine(tiny_run), "",
        "Where a change of code or params changed the outputs on purpose, and `make audit` or a second machine "
        "agrees, the file becomes:", yaml.safe_dump(got, sort_keys=False)])
