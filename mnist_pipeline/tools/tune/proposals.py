"""The proposals: an Optuna TPE sampler, seeded per trial, told the recorded trials and asked for the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mnist_pipeline.tools.tune.config import (
    Study,
)
from mnist_pipeline.tools.tune.record import (
    Trial,
)

# Trials proposed at random before TPE models the results; fixed, so a trial's proposal does not depend on
# the budget.
STARTUP_TRIALS = 5

def trial_seed(seed: int, index: int) -> int:
    """The sampler's seed for the study's trial ``index`` (0-based): one stream per trial, so a proposal does
    not depend on how many runs the search took to get there."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def new_optuna_study(study: Study, trials: Sequence[Trial]):
    """An in-memory optuna study holding ``trials`` as finished ones."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna_study = optuna.create_study(direction=study.direction, study_name=study.name)
    for trial in trials:
        optuna_study.add_trial(optuna.trial.create_trial(params=trial.params, distributions=study.space,
                                                         value=trial.value))
    return optuna_study


def ask(optuna_study, study: Study, index: int, workspace: dict[str, Any] | None = None):
    """Optuna's proposal for trial ``index``, by TPE seeded for that trial; the first trial is ``workspace``,
    the current params, when given: the search starts from what it is to improve on."""
    import optuna

    if index == 0 and workspace is not None:
        optuna_study.enqueue_trial(workspace)
    optuna_study.sampler = optuna.samplers.TPESampler(seed=trial_seed(study.seed, index),
                                                      n_startup_trials=STARTUP_TRIALS)
    return optuna_study.ask(study.space)


def override(key: str, value: Any) -> str:
    """``key=value`` for `dvc exp run -S`, in Hydra's override grammar; floats keep every digit."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    else:
        text = "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"{key}={text}"
