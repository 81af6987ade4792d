"""The params sections and model families are registered once (mnist_pipeline/sections.py) and agree with
params.yaml, dvc.yaml, each stage's own ``load_section`` call and the model registry."""

import ast

import pytest
import yaml
from helpers import REPO_ROOT

from mnist_pipeline import paths
from mnist_pipeline.sections import SECTIONS, TRAINING_SECTIONS
from mnist_pipeline.tools.tune.config import TUNABLE_SECTIONS

PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def loaded_sections(stage: str) -> dict[str, str]:
    """Section -> the schema's name, for each ``load_section(path, "<section>", <Schema>)`` in the stage's script."""
    tree = ast.parse((REPO_ROOT / "stages" / f"{stage}.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", None)) == "load_section"]
    return {call.args[1].value: ast.unparse(call.args[2]).rsplit(".", 1)[-1] for call in calls}


def test_params_yaml_has_exactly_the_registered_sections():
    assert list(PARAMS) == list(SECTIONS)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_loads_the_section_its_dvc_yaml_entry_names_with_the_registered_schema(stage):
    whole_sections = [name for name in STAGES[stage].get("params", []) if isinstance(name, str) and "." not in name]
    expected = {section: SECTIONS[section].__name__ for section in whole_sections}
    assert loaded_sections(stage) == expected


def test_every_registered_section_is_some_stages():
    named = {name for stage in STAGES.values() for name in stage.get("params", []) if isinstance(name, str)}
    assert set(SECTIONS) <= named


def test_every_model_family_has_a_training_section_whose_stage_writes_its_model():
    assert set(TRAINING_SECTIONS) == set(paths.MODEL_NAMES)
    for family, section in TRAINING_SECTIONS.items():
        assert section in SECTIONS and section in STAGES
        assert paths.MODEL_FILES[family].as_posix() in STAGES[section]["outs"]


def test_make_tune_searches_the_training_sections_with_their_schemas():
    assert {section: SECTIONS[section] for section in TRAINING_SECTIONS.values()} == TUNABLE_SECTIONS
