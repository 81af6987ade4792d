"""dvc.yaml agrees with the code: every stage lists exactly the modules it imports, its params section
and the paths that mnist_pipeline/paths.py defines, so nothing reruns needlessly and nothing stale survives."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT

from mnist_pipeline import paths

DVC_YAML = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())
STAGES = DVC_YAML["stages"]
PACKAGE = "mnist_pipeline"


def imported_modules(source: Path) -> set[Path]:
    """The project modules ``source`` imports, directly or through other project modules."""
    found: set[Path] = set()
    pending = [source]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                module = REPO_ROOT / (name.replace(".", "/") + ".py")
                if name.startswith(PACKAGE) and module.is_file() and module not in found:
                    found.add(module)
                    pending.append(module)
    return found


def rel(path: Path) -> str:
    """A path as dvc.yaml writes it: relative to the project root, with forward slashes."""
    return (path.relative_to(REPO_ROOT) if path.is_absolute() else path).as_posix()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_lists_its_script_and_every_module_it_imports(stage):
    script = REPO_ROOT / "stages" / f"{stage}.py"
    assert STAGES[stage]["cmd"] == f"python -m stages.{stage}"
    listed = {dep for dep in STAGES[stage]["deps"] if dep.endswith(".py")}
    # `python -m stages.<name>` runs the package's __init__ (the environment check, the kernels' pins) first.
    package = REPO_ROOT / "stages" / "__init__.py"
    modules = imported_modules(script) | imported_modules(package)
    expected = {rel(script), rel(package)} | {rel(module) for module in modules}
    assert listed == expected


def test_library_init_file_holds_no_code():
    # It is imported by every stage but not listed as a dep, which is only safe while it stays empty.
    body = ast.parse((REPO_ROOT / PACKAGE / "__init__.py").read_text()).body
    assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_depends_on_exactly_the_params_it_loads(stage):
    # Each section it loads (load_section).
    script = (REPO_ROOT / "stages" / f"{stage}.py").read_text()
    loads = {
        node.args[1].value for node in ast.walk(ast.parse(script))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load_section"
    }
    assert set(STAGES[stage].get("params", [])) == loads


def test_outputs_are_the_paths_the_code_writes():
    declared = set()
    for stage in STAGES.values():
        for kind in ("outs", "metrics", "plots"):
            for out in stage.get(kind, []):
                declared.add(next(iter(out)) if isinstance(out, dict) else out)
    expected = {rel(p) for p in (paths.RAW_DIR, paths.PROCESSED_DATA, paths.LOGREG_MODEL, paths.NN_MODEL,
                                 paths.NN_TRAINING_LOG, paths.METRICS, paths.FIGURES_DIR, paths.REPORT)}
    expected |= {rel(file(name)) for name in paths.MODEL_NAMES for file in (paths.probabilities_file,
                                                                             paths.predictions_file,
                                                                             paths.calibration_file)}
    assert declared == expected


def test_every_stage_keeps_the_run_cache():
    # One `cache: false` out would turn off the run-cache of the whole stage (metrics and plots may be uncached).
    for stage, definition in STAGES.items():
        for out in definition.get("outs", []):
            assert not isinstance(out, dict) or next(iter(out.values())).get("cache", True), (stage, out)


def test_plots_read_declared_outputs():
    for plot in DVC_YAML["plots"]:
        if isinstance(plot, str):
            assert plot == rel(paths.FIGURES_DIR)
            continue
        (definition,) = plot.values()
        for source in definition["y"]:
            assert source.startswith(rel(paths.NN_TRAINING_LOG) + "/"), source


def test_evaluate_plots_each_models_confusion_and_reliability():
    plots = {next(iter(plot)): next(iter(plot.values())) for plot in STAGES["evaluate"]["plots"]}
    for name in paths.MODEL_NAMES:
        confusion, reliability = plots[rel(paths.predictions_file(name))], plots[rel(paths.calibration_file(name))]
        assert (confusion["template"], confusion["x"], confusion["y"]) == ("confusion", "predicted", "actual")
        assert (reliability["x"], reliability["y"]) == ("confidence", "accuracy")
        assert confusion["cache"] is reliability["cache"] is False  # committed to git, for `make compare`


def test_evaluate_and_visualize_follow_the_model_registry():
    """A model registered in paths.MODEL_FILES is written with its answers by its training stage, scored from those
    by evaluate and drawn by visualize."""
    for name, path in paths.MODEL_FILES.items():
        outs = set(STAGES[paths.TRAINING_STAGES[name]]["outs"])
        assert {rel(path), rel(paths.probabilities_file(name))} <= outs, name
    assert set(STAGES["evaluate"]["deps"]) >= {rel(paths.probabilities_file(name)) for name in paths.MODEL_NAMES}
    assert not set(STAGES["evaluate"]["deps"]) & {rel(path) for path in paths.MODEL_FILES.values()}
    per_model = {rel(file(name)) for name in paths.MODEL_NAMES
                 for file in (paths.predictions_file, paths.calibration_file)}
    assert set(STAGES["visualize"]["deps"]) >= per_model


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_no_stage_imports_the_app_or_the_tools(stage):
    # Editing mnist-predict, its page or a developer tool must rerun nothing.
    outside = [REPO_ROOT / PACKAGE / "app", REPO_ROOT / PACKAGE / "tools"]
    imported = imported_modules(REPO_ROOT / "stages" / f"{stage}.py")
    assert not [module for module in imported if any(folder in module.parents for folder in outside)]


@pytest.mark.e2e
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_run_as_a_file_says_how_to_run_it(stage, tmp_path):
    # As a file, Python would skip stages/__init__.py, its checks and its kernel pins; run in an empty folder, so a
    # stage that ran anyway would find nothing of the project's to write over.
    result = subprocess.run([sys.executable, str(REPO_ROOT / "stages" / f"{stage}.py")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == (f"ERROR: run this stage as `python -m stages.{stage}` in the project root, or run "
                             f"`dvc repro`\n")
