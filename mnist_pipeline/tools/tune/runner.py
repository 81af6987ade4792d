"""``make tune``: a hyperparameter search in which every trial is a DVC experiment.

The loop: read the record (:mod:`.record`), ask Optuna for the next trial (:mod:`.proposals`), run it with
`dvc exp run --temp`, until the budget is reached; then print the ranking (:mod:`.output`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Protocol

import pandas as pd

from mnist_pipeline.artifacts import load_json
from mnist_pipeline.errors import PipelineError
from mnist_pipeline.interrupts import interrupts_as_ctrl_c
from mnist_pipeline.paths import METRICS, PARAMS, find_project_root
from mnist_pipeline.tools.commands import run_interruptible
from mnist_pipeline.tools.tune.config import (
    CONFIG,
    Study,
    TuneConfigError,
    check_objective_is_measured,
    load_studies,
    read_params,
)
from mnist_pipeline.tools.tune.output import format_summary, ranked
from mnist_pipeline.tools.tune.proposals import ask, new_optuna_study, override
from mnist_pipeline.tools.tune.record import (
    Trial,
    experiment_name,
    experiments_table,
    read_record,
)

PROG = "mnist-tune"


class TrialError(PipelineError):
    """`dvc exp run` of one trial failed, or left no metric to judge it by."""


class SearchInterruptedError(Exception):
    """Ctrl-C during a search: ``done`` of ``budget`` trials are recorded as DVC experiments."""

    def __init__(self, done: int, budget: int):
        super().__init__(f"{done} of {budget} trials done")
        self.done = done
        self.budget = budget


class Experiments(Protocol):
    """What the search needs of DVC; tests substitute a fake."""

    def show(self) -> pd.DataFrame: ...

    def run(self, name: str, overrides: list[str]) -> int: ...


class DvcExperiments:
    """The real `dvc exp show` and `dvc exp run`, from the Python running this module, in ``root``."""

    def __init__(self, root: Path):
        self.root = root

    def show(self) -> pd.DataFrame:
        import dvc.api

        try:
            return experiments_table(dvc.api.exp_show(repo=str(self.root)))
        except Exception as error:  # DVC's own errors: no git repository, no commit, a broken dvc.yaml
            reason = str(error).strip() or type(error).__name__
            raise PipelineError(f"`dvc exp show` failed: {reason}") from None

    def run(self, name: str, overrides: list[str]) -> int:
        """`dvc exp run --temp`, its output on the terminal; its exit status."""
        command = [sys.executable, "-m", "dvc", "exp", "run", "--temp", "-n", name]
        for item in overrides:
            command += ["-S", item]
        # Whatever stops the search (Ctrl-C, a SIGTERM, a closed terminal) sends DVC and its stage Ctrl-C's SIGINT:
        # DVC stops its stage and removes its temporary copy. Sent to DVC alone, a SIGINT left the copy behind, with
        # the trial "Running" in `dvc exp show`.
        return run_interruptible(command, self.root)


def say(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201


def search(study: Study, budget: int, experiments: Experiments) -> list[Trial]:
    """Run the study's missing trials until ``budget`` are finished; return all of them.

    Raises:
        TrialError: a trial's `dvc exp run` failed or left no objective; the trials before it are kept.
        SearchInterruptedError: Ctrl-C; the finished trials are kept.
    """
    record = read_record(experiments.show(), study)
    for note in record.notes:
        say(f"note: {note}")
    trials = list(record.trials)
    if trials:
        say(f"{len(trials)} trial(s) of study {study.name} already done on this commit "
            f"({', '.join(trial.name for trial in trials)}): not run again.")
    optuna_study = new_optuna_study(study, trials)
    number = max(record.numbers, default=0)
    try:
        while len(trials) < budget:
            proposal = ask(optuna_study, study, len(trials), record.workspace)
            number += 1
            name = experiment_name(study.name, number)
            overrides = [override(key, proposal.params[key]) for key in study.space]
            current = " (the workspace's params)" if not trials and record.workspace is not None else ""
            say(f"\n=== trial {len(trials) + 1} of {budget}: {name}{current}  {' '.join(overrides)}")
            status = experiments.run(name, overrides)
            if status != 0:
                optuna_study.tell(proposal, state=_failed())
                raise TrialError(_failure(study, name, overrides, len(trials),
                                           f"`dvc exp run` exited {status} (its output is above)"))
            finished = next((trial for trial in read_record(experiments.show(), study).trials
                             if trial.name == name), None)
            if finished is None:
                optuna_study.tell(proposal, state=_failed())
                raise TrialError(_failure(study, name, overrides, len(trials),
                                           f"it finished, but `dvc exp show` has no {study.objective} for it"))
            optuna_study.tell(proposal, finished.value)
            trials.append(finished)
            best = ranked(trials, study.direction)[0]
            say(f"=== {name}: {study.objective} {finished.value:.4f}; best so far {best.name} ({best.value:.4f})")
    except KeyboardInterrupt:
        raise SearchInterruptedError(_kept(experiments, study, len(trials)), budget) from None
    return trials


def _kept(experiments: Experiments, study: Study, counted: int) -> int:
    """How many of the study's trials DVC keeps after Ctrl-C: the trial then running counts if DVC finished and
    saved it before the interrupt reached it. ``counted`` (the search's own count) where DVC cannot say."""
    try:
        return len(read_record(experiments.show(), study).trials)
    except (PipelineError, KeyboardInterrupt):
        return counted


def _failed():
    from optuna.trial import TrialState

    return TrialState.FAIL


def _failure(study: Study, name: str, overrides: list[str], done: int, why: str) -> str:
    return (f"trial {name} ({' '.join(overrides)}) failed: {why}. The {done} trial(s) before it are kept as DVC "
            f"experiments: fix the cause and run again (`make tune STUDY={study.name}`) to resume.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("study", help=f"a study of {CONFIG}")
    parser.add_argument("--trials", type=int, metavar="N",
                        help=f"finish with N trials (default: the study's 'trials' in {CONFIG})")
    args = parser.parse_args(argv)
    if args.trials is not None and args.trials < 1:
        parser.error("--trials must be at least 1")
    with interrupts_as_ctrl_c():  # a SIGTERM or a closed terminal stops the search as Ctrl-C does
        try:
            root = find_project_root()
            studies = load_studies(root / CONFIG, read_params(root / PARAMS))
            if args.study not in studies:
                raise TuneConfigError(f"no study {args.study!r} in {CONFIG}; its studies are {', '.join(studies)}")
            study = studies[args.study]
            if (root / METRICS).is_file():  # the last run's metrics: what each trial's run will write
                check_objective_is_measured(study, load_json(root / METRICS))
            trials = search(study, args.trials or study.trials, DvcExperiments(root))
        except SearchInterruptedError as stop:
            print(f"{PROG}: interrupted: {stop.done} of {stop.budget} trials of study {args.study} are done and "  # noqa: T201
                  f"kept as DVC experiments; run the same command again to resume.", file=sys.stderr)
            return 130
        except TrialError as error:
            print(f"{PROG}: {error}", file=sys.stderr)  # noqa: T201
            return 1
        except PipelineError as error:
            parser.exit(2, f"{PROG}: error: {error}\n")
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted before any trial ran", file=sys.stderr)  # noqa: T201
            return 130
    say()
    say(format_summary(study, trials))
    return 0

