"""Same inputs, same bytes, end to end on the tiny configuration.

Every stage rerun writes byte-identical outputs, whatever else changed that no stage declares (a commit, the
environment, the clock, unrelated files); an edit reruns only the stages that use what changed, and the
cascade stops where the outputs come out the same; a stage run by the wrong Python says so; the audit of a
committed run finds every output identical.
"""

import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import yaml
from helpers import ALL_STAGES


def test_audit_reruns_everything_in_a_clone_and_weighs_what_differs(project):
    # A committed lock whose network hash no run can reproduce: every other output must come out identical, and
    # the network's predictions, identical too, make it "no evidence of a different model", exit status 1.
    lock_text = (project.root / "dvc.lock").read_text()
    recorded = yaml.safe_load(lock_text)["stages"]["train_nn"]["outs"][0]
    assert recorded["path"] == "models/nn.keras"
    (project.root / "dvc.lock").write_text(lock_text.replace(recorded["md5"], "deadbeef" * 4))
    project.commit("a lock that records another network")

    result = project.run(sys.executable, "-m", "mnist_pipeline.audit", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    for stage in ALL_STAGES:
        assert f"Running stage '{stage}'" in result.stderr  # really rerun, not restored
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] and line.split()[0] in ALL_STAGES]
    assert {row[1] for row in rows} == {"data/raw", "data/processed/mnist.npz", "models/logreg.skops",
                                        "models/nn.keras", "reports/train_nn", "reports/metrics.json",
                                        "reports/predictions/logreg.csv", "reports/predictions/nn.csv",
                                        "reports/calibration/logreg.csv", "reports/calibration/nn.csv",
                                        "reports/figures", "reports/report.md"}
    assert [row[1] for row in rows if row[2] != "identical"] == ["models/nn.keras"], result.stdout
    assert f"{len(rows) - 1} of {len(rows)} outputs identical; 1 differ." in result.stdout
    # The recorded predictions against the reproduced ones, model by model.
    assert re.search(r"^nn +\S+ \(.+\) +\S+ \(.+\) +0 +0 +1\.0000 +no evidence of a difference", result.stdout, re.M)
    assert result.stdout.rstrip().endswith("Verdict: different bytes, no evidence of a different model (p = 1).")
    project.git("revert", "--no-edit", "HEAD")


def test_forced_rerun_writes_the_same_bytes_whatever_the_stages_must_not_depend_on(project, tmp_path):
    outputs, lock = project.output_digests(), (project.root / "dvc.lock").read_text()
    # What no stage declares: a new commit, unrelated files, the environment, the clock.
    project.git("commit", "--allow-empty", "-qm", "a commit that changes nothing")
    (project.root / "notes.txt").write_text("unrelated\n")
    (project.root / "scratch").mkdir()
    (project.root / "scratch" / "digits.npz").write_bytes(b"unrelated")
    env = {**project.env, "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "12345", "SOURCE_DATE_EPOCH": "86400", "TMPDIR": str(tmp_path), "COLUMNS": "37",
           # What a user's shell may say of threads and kernels; each stage pins its own. (The OpenBLAS variables
           # stay as this machine sets them: OMP_NUM_THREADS is what OpenBLAS reads when its own is unset.)
           "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "3",
           "TF_NUM_INTEROP_THREADS": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX",
           "ONEDNN_DEFAULT_FPMATH_MODE": "BF16", "NPY_DISABLE_CPU_FEATURES": "X86_V3"}
    time.sleep(1.1)  # anything that stamps the clock would now stamp another second

    result = project.run("dvc", "repro", "--force", env=env)
    assert set(re.findall(r"Running stage '([^']+)'", result.stdout)) == ALL_STAGES
    assert project.output_digests() == outputs
    # Each stage logs the kernels it ran: the pinned ones, whatever it inherited.
    kernels = dict(re.findall(r"mnist_pipeline: (\w+) kernels: (.*)", result.stderr))
    assert set(kernels) == ALL_STAGES, result.stderr
    for stage, line in kernels.items():
        assert line.startswith("NumPy dispatch up to AVX2; "), (stage, line)
        libraries = dict((name, (kernels, threads)) for name, kernels, threads in
                         re.findall(r"(lib\w+) (\w+) x(\d+)", line))
        assert "libscipy_openblas64_" in libraries, (stage, line)  # NumPy's
        assert set(libraries.values()) == {("Haswell", "1")}, (stage, line)
        assert line.endswith("; oneDNN up to AVX2") == (stage in {"train_nn", "evaluate"}), (stage, line)
    assert "did not run the portable kernels" not in result.stderr
    assert (project.root / "dvc.lock").read_text() == lock
    assert set(project.git("status", "--porcelain").stdout.splitlines()) == {"?? notes.txt", "?? scratch/"}
    (project.root / "notes.txt").unlink()
    (project.root / "scratch" / "digits.npz").unlink()
    (project.root / "scratch").rmdir()


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
