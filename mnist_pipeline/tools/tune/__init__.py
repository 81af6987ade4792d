"""``make tune``: a hyperparameter search in which every trial is a DVC experiment.

A study of ``tune.yaml`` names the params to search, their ranges, the metric that judges a trial and the
budget. Optuna proposes each trial (ask and tell, a seeded TPE sampler); `dvc exp run --temp -S key=value`
runs it in a temporary copy of the repository, so the workspace is untouched, `dvc exp show` lists every
trial, and the run-cache skips every stage whose inputs an earlier run already saw. The metric is read back
from the experiment's ``reports/metrics.json`` and told to Optuna.

The DVC experiments of the current commit named ``tune-<study>-<NN>`` are the search's only record: on start
they are told to Optuna as finished trials, and only the missing ones up to the budget run. An interrupted
search (Ctrl-C, a failed trial) therefore resumes where it stopped. The proposal of trial ``k`` depends only
on the trials before it and on the study's seed, so a resumed search proposes what an uninterrupted one would
have, and a trial interrupted after some of its stages finished gets those stages back from the run-cache.

    $ make tune STUDY=logreg                          # or: python -m mnist_pipeline.tools.tune logreg
    $ python -m mnist_pipeline.tools.tune logreg --trials 20   # a larger budget than tune.yaml's; resumes
"""

from mnist_pipeline.tools.tune.config import Study, TuneConfigError, load_studies, parse_study, read_params
from mnist_pipeline.tools.tune.output import format_summary, format_table, ranked
from mnist_pipeline.tools.tune.proposals import override, trial_seed
from mnist_pipeline.tools.tune.record import (
    Trial,
    contains,
    experiment_name,
    experiment_number,
    experiments_table,
    read_record,
)
from mnist_pipeline.tools.tune.runner import SearchInterruptedError, TrialError, main, search

__all__ = [
    "SearchInterruptedError", "Study", "Trial", "TrialError", "TuneConfigError", "contains", "experiment_name",
    "experiment_number", "experiments_table", "format_summary", "format_table", "load_studies", "main", "override",
    "parse_study", "ranked", "read_params", "read_record", "search", "trial_seed",
]
