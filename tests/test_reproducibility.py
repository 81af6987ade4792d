"""Same inputs, same bytes, end to end on the tiny configuration.

Every stage rerun writes byte-identical outputs, whatever else changed that no stage declares (a commit, the
environment, the clock, unrelated files); an edit reruns only the stages that use what changed, and the
cascade stops where the outputs come out the same; a stage run by the wrong Python says so; the audit of a
committed run finds every output identical.
"""

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

from helpers import ALL_STAGES


def test_audit_reruns_everything_in_a_clone_and_finds_every_output_identical(project):
    result = project.run(sys.executable, "-m", "mnist_pipeline.audit", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for stage in ALL_STAGES:
        assert f"Running stage '{stage}'" in result.stderr  # really rerun, not restored
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] and line.split()[0] in ALL_STAGES]
    assert {row[1] for row in rows} == {"data/raw", "data/processed/mnist.npz", "models/logreg.skops",
                                        "models/nn.keras", "reports/train_nn", "reports/metrics.json",
                                        "reports/predictions/logreg.csv", "reports/predictions/nn.csv",
                                        "reports/calibration/logreg.csv", "reports/calibration/nn.csv",
                                        "reports/figures", "reports/report.md"}
    assert all(row[2] == "identical" for row in rows), result.stdout
    assert f"{len(rows)} of {len(rows)} outputs identical." in result.stdout


def test_forced_rerun_writes_the_same_bytes_whatever_the_stages_must_not_depend_on(project, tmp_path):
    outputs, lock = project.output_digests(), (project.root / "dvc.lock").read_text()
    # What no stage declares: a new commit, unrelated files, the environment, the clock.
    project.git("commit", "--allow-empty", "-qm", "a commit that changes nothing")
    (project.root / "notes.txt").write_text("unrelated\n")
    (project.root / "scratch").mkdir()
    (project.root / "scratch" / "digits.npz").write_bytes(b"unrelated")
    env = {**project.env, "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "12345", "SOURCE_DATE_EPOCH": "86400", "TMPDIR": str(tmp_path), "COLUMNS": "37"}
    time.sleep(1.1)  # anything that stamps the clock would now stamp another second

    assert project.repro("--force", env=env) == ALL_STAGES
    assert project.output_digests() == outputs
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
