"""The sections of ``params.yaml``, listed once: each stage's section with its schema, and each model family's
training section.

The stages import their own schema (so an edit to one schema reruns only the stage that reads it); the tools
and the tests read this list: ``make tune`` searches the training sections, and ``tests/test_sections.py``
fails when a section, a schema or a model family is registered in one place and not the others (params.yaml,
dvc.yaml, the stage's ``load_section`` call, the model registry :data:`mnist_pipeline.paths.MODEL_FILES`).
"""

from __future__ import annotations

from mnist_pipeline.dataset import PreprocessParams
from mnist_pipeline.figures import VisualizeParams
from mnist_pipeline.logreg import TrainLogregParams
from mnist_pipeline.nn import TrainNnParams
from mnist_pipeline.paths import TRAINING_STAGES
from mnist_pipeline.sources import FetchParams
from mnist_pipeline.sureness import EvaluateParams

# Section of params.yaml -> the frozen dataclass its stage validates it with.
SECTIONS: dict[str, type] = {
    "fetch": FetchParams,
    "preprocess": PreprocessParams,
    "train_logreg": TrainLogregParams,
    "train_nn": TrainNnParams,
    "evaluate": EvaluateParams,
    "visualize": VisualizeParams,
}

# Model family (a name of paths.MODEL_FILES) -> the section of the stage that trains it.
TRAINING_SECTIONS: dict[str, str] = TRAINING_STAGES
