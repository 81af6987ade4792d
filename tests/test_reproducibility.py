"""Same inputs, same bytes, end to end on the tiny configuration.

Every stage rerun from nothing (the reproduction audit, in a clone) writes byte-identical outputs, whatever else
changed that no stage declares (a commit, unrelated files, the environment, the clock); an edit reruns only the
stages that use what changed, and the cascade stops where the outputs come out the same; a stage run by the wrong
Python says so.
"""

import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

from helpers import ALL_STAGES, Project, locked_out

# What a user's shell may set that no stage declares: the clock, the locale, hashing, temporary files, the
# terminal, and threads and kernels, which each stage pins for itself. (The OpenBLAS variables stay as this
# machine sets them: OMP_NUM_THREADS is what OpenBLAS reads when its own is unset.)
HOSTILE_ENVIRONMENT = {
    "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONHASHSEED": "12345",
    "SOURCE_DATE_EPOCH": "86400", "COLUMNS": "37",
    "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "3", "TF_NUM_INTEROP_THREADS": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX", "ONEDNN_DEFAULT_FPMATH_MODE": "BF16",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3",
}


def assert_pinned_kernels(stderr: str) -> None:
    """Each stage logs the kernels it ran: the pinned ones, whatever it inherited."""
    kernels = dict(re.findall(r"mnist_pipeline: (\w+) kernels: (.*)", stderr))
    assert set(kernels) == ALL_STAGES, stderr
    for stage, line in kernels.items():
        assert line.startswith("NumPy dispatch up to AVX2; "), (stage, line)
        libraries = dict((name, (kernels, threads)) for name, kernels, threads in
                         re.findall(r"(lib\w+) (\w+) x(\d+)", line))
        assert "libscipy_openblas64_" in libraries, (stage, line)  # NumPy's
        assert set(libraries.values()) == {("Haswell", "1")}, (stage, line)
        assert line.endswith("; oneDNN up to AVX2") == (stage == "train_nn"), (stage, line)
    assert "did not run the portable kernels" not in stderr


def test_the_audit_reruns_everything_under_a_users_settings_to_the_same_bytes(project, tmp_path):
    # A new commit holding unrelated files, and a lock whose network hash no run can reproduce: every output must
    # come out identical but that one, and the network's predictions, identical too, make it "no evidence of a
    # different model", exit status 1.
    outputs, lock_text = project.output_digests(), (project.root / "dvc.lock").read_text()
    recorded = locked_out(lock_text, "train_nn", "models/nn.keras")
    (project.root / "dvc.lock").write_text(lock_text.replace(recorded["md5"], "deadbeef" * 4))
    (project.root / "notes.txt").write_text("unrelated\n")
    (project.root / "scratch").mkdir()
    (project.root / "scratch" / "digits.npz").write_bytes(b"unrelated")
    project.commit("a lock that records another network, and unrelated files")
    env = {**project.env, **HOSTILE_ENVIRONMENT, "TMPDIR": str(tmp_path)}
    time.sleep(1.1)  # anything that stamps the clock would now stamp another second

    result = project.run(sys.executable, "-m", "mnist_pipeline.tools.audit", "--keep", env=env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    for stage in ALL_STAGES:
        assert f"Running stage '{stage}'" in result.stderr  # really rerun, not restored
    assert_pinned_kernels(result.stderr)
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] and line.split()[0] in ALL_STAGES]
    assert {row[1] for row in rows} == {"data/raw", "data/processed/mnist.npz", "models/logreg.skops",
                                        "data/probabilities/logreg.npz", "models/nn.keras",
                                        "data/probabilities/nn.npz", "reports/train_nn", "reports/metrics.json",
                                        "reports/predictions/logreg.csv", "reports/predictions/nn.csv",
                                        "reports/calibration/logreg.csv", "reports/calibration/nn.csv",
                                        "reports/figures", "reports/report.md"}
    assert [row[1] for row in rows if row[2] != "identical"] == ["models/nn.keras"], result.stdout
    assert f"{len(rows) - 1} of {len(rows)} outputs identical; 1 differ." in result.stdout
    # The recorded predictions against the reproduced ones, model by model.
    assert re.search(r"^nn +\S+ \(.+\) +\S+ \(.+\) +0 +0 +1\.0000 +no evidence of a difference", result.stdout, re.M)
    assert result.stdout.rstrip().endswith("Verdict: different bytes, no evidence of a different model (p = 1).")
    # The rerun wrote the original run's lock and every output byte for byte; the workspace is untouched.
    clone = Project(Path(re.search(r"the clone is in (\S+)", result.stderr).group(1)), project.mirror)
    assert (clone.root / "dvc.lock").read_text() == lock_text
    assert clone.output_digests() == outputs
    assert set(clone.git("status", "--porcelain").stdout.splitlines()) == {" M dvc.lock"}
    assert not project.git("status", "--porcelain").stdout.strip()
    project.git("revert", "--no-edit", "HEAD")


def edit_then_restore(project, relative: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` in a project file; return the original text."""
    path = project.root / relative
    original = path.read_text()
    assert original.count(old) == 1, (relative, old)
    path.write_text(original.replace(old, new))
    return original


def test_editing_the_visualize_schema_reruns_visualize_only(project):
    outputs = project.output_digests()
    original = edit_then_restore(project, "mnist_pipeline/figures.py",
                                 '"""The ``visualize`` section of params.yaml."""',
                                 '"""The ``visualize`` section of params.yaml: how many digits each figure shows."""')
    assert project.repro() == {"visualize"}
    assert project.output_digests() == outputs
    (project.root / "mnist_pipeline/figures.py").write_text(original)
    project.repro()  # the run-cache restores the original run's outputs
    assert "up to date" in project.dvc("status").stdout


def test_editing_the_idx_reader_reruns_the_data_stages_and_the_cascade_stops_there(project):
    outputs = project.output_digests()
    original = edit_then_restore(project, "mnist_pipeline/idx.py",
                                 "is not unsigned byte (0x08), which MNIST uses",
                                 "is not unsigned byte (0x08), the only type MNIST uses")
    # fetch writes IDX files and preprocess parses them; their outputs come out the same, so nothing retrains.
    assert project.repro() == {"fetch", "preprocess"}
    assert project.output_digests() == outputs
    (project.root / "mnist_pipeline/idx.py").write_text(original)
    project.repro()  # the run-cache restores the original run's outputs
    assert "up to date" in project.dvc("status").stdout


def test_a_stage_run_by_the_wrong_python_says_so(project, tmp_path):
    # What `.venv/bin/dvc repro` does in a shell that has not activated the environment: the stages get the
    # first `python` on PATH, here one without the project's dependencies.
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    dvc = Path(sys.executable).parent / "dvc"
    env = {**project.env, "PATH": str(bare / "bin") + os.pathsep + project.env["PATH"]}
    result = subprocess.run([dvc, "repro", "--force", "--single-item", "visualize"], cwd=project.root, env=env,
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{bare / 'bin' / 'python'} ran this stage, but it lacks numpy" in output
    assert "source .venv/bin/activate" in output
    assert "Traceback" not in output and "ModuleNotFoundError" not in output
    project.repro()  # the run-cache restores the outputs the failed run removed
    assert "up to date" in project.dvc("status").stdout
