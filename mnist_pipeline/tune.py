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

    $ make tune STUDY=logreg                          # or: python -m mnist_pipeline.tune logreg
    $ python -m mnist_pipeline.tune logreg --trials 20   # a larger budget than tune.yaml's; resumes
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.params import ParamsError, parse
from mnist_pipeline.paths import METRICS, MODEL_NAMES, PARAMS, find_project_root

PROG = "mnist-tune"
CONFIG = Path("tune.yaml")
# The sections a study may search, with the schema each is validated against (module, dataclass): the
# training stages'. fetch and preprocess decide the data, and the validation digits, that trials are compared
# on; visualize only draws.
TUNABLE_SECTIONS = {
    "train_logreg": ("mnist_pipeline.logreg", "TrainLogregParams"),
    "train_nn": ("mnist_pipeline.nn", "TrainNnParams"),
}
# Trials proposed at random before TPE models the results; fixed, so a trial's proposal does not depend on
# the budget.
STARTUP_TRIALS = 5
STUDY_KEYS = {"objective", "trials", "space", "seed", "direction"}
REQUIRED_STUDY_KEYS = {"objective", "trials", "space"}
RANGE_KEYS = {"low", "high", "log", "step"}


class TuneConfigError(PipelineError):
    """``tune.yaml`` holds a study that cannot run."""


class TrialError(PipelineError):
    """`dvc exp run` of one trial failed, or left no metric to judge it by."""


class SearchInterruptedError(Exception):
    """Ctrl-C during a search: ``done`` of ``budget`` trials are recorded as DVC experiments."""

    def __init__(self, done: int, budget: int):
        super().__init__(f"{done} of {budget} trials done")
        self.done = done
        self.budget = budget


# ---------------------------------------------------------------------------------------------- the config


@dataclasses.dataclass(frozen=True)
class Study:
    """One section of ``tune.yaml``, validated against ``params.yaml``."""

    name: str
    objective: str  # "<model>.<metric>" in reports/metrics.json, a validation metric
    direction: str  # "maximize" or "minimize"
    trials: int  # the budget: finished trials the search ends with
    seed: int
    space: dict[str, Any]  # param path -> optuna distribution, in the file's order


def load_studies(config: Path, params: dict) -> dict[str, Study]:
    """Every study of the file ``config``, each checked against the parsed ``params.yaml``."""
    try:
        document = yaml.safe_load(Path(config).read_text())
    except FileNotFoundError:
        raise TuneConfigError(f"{config} not found: it holds the studies `make tune` runs") from None
    except yaml.YAMLError as error:
        raise TuneConfigError(f"{config} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not document:
        raise TuneConfigError(f"{config} must map each study's name to its settings")
    return {name: parse_study(name, settings, params) for name, settings in document.items()}


def read_params(path: Path) -> dict:
    """The parsed ``params.yaml`` the studies are checked against."""
    try:
        params = yaml.safe_load(Path(path).read_text())
    except (FileNotFoundError, yaml.YAMLError) as error:
        raise TuneConfigError(f"cannot read {path}: {error}") from None
    if not isinstance(params, dict):
        raise TuneConfigError(f"{path} must map each stage's section to its params")
    return params


def parse_study(name: Any, settings: Any, params: dict) -> Study:
    """One study, every key checked; errors name the study and the key."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise TuneConfigError(f"study name {name!r}: use lowercase letters, digits, '_' and '-' (it becomes part "
                              f"of each experiment's name)")
    if not isinstance(settings, dict):
        raise TuneConfigError(f"{name} must be a mapping of settings, got {settings!r}")
    unknown = sorted(set(settings) - STUDY_KEYS)
    if unknown:
        raise TuneConfigError(f"{name}: unknown key(s) {unknown}; allowed keys are {sorted(STUDY_KEYS)}")
    missing = sorted(REQUIRED_STUDY_KEYS - set(settings))
    if missing:
        raise TuneConfigError(f"{name}: missing key(s) {missing}")
    trials, seed = settings["trials"], settings.get("seed", 0)
    if not _is_int(trials) or trials < 1:
        raise TuneConfigError(f"{name}.trials = {trials!r} must be a whole number of at least 1")
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise TuneConfigError(f"{name}.seed = {seed!r} must be a whole number from 0 to 2**32 - 1")
    direction = settings.get("direction", "maximize")
    if direction not in ("maximize", "minimize"):
        raise TuneConfigError(f"{name}.direction = {direction!r} must be maximize or minimize")
    space = settings["space"]
    if not isinstance(space, dict) or not space:
        raise TuneConfigError(f"{name}.space must map each param to search (as in `dvc exp run -S`, e.g. "
                              f"train_logreg.C) to its range")
    return Study(name=name, objective=check_objective(name, settings["objective"]), direction=direction,
                 trials=trials, seed=seed,
                 space={key: parse_range(f"{name}.space.{key}", key, spec, params) for key, spec in space.items()})


def check_objective(study: str, objective: Any) -> str:
    """``<model>.<metric>`` where the metric is measured on the validation digits; test metrics are refused."""
    where = f"{study}.objective"
    match = re.fullmatch(r"([a-z0-9_]+)\.([a-z0-9_]+)", objective) if isinstance(objective, str) else None
    if not match:
        raise TuneConfigError(f"{where} = {objective!r} must name a metric of {METRICS} as <model>.<metric>, "
                              f"e.g. logreg.val_accuracy")
    model, metric = match.groups()
    if model not in MODEL_NAMES:
        raise TuneConfigError(f"{where} = {objective!r}: no model {model!r}; the models are {list(MODEL_NAMES)}")
    if not metric.startswith("val_"):
        raise TuneConfigError(
            f"{where} = {objective!r} is measured on the test digits: a search that chooses by it fits the "
            f"choice to the test set, whose accuracy then overstates what the chosen model does on new digits. "
            f"Choose by a validation metric (val_*), e.g. {model}.val_accuracy; the test set only reports.")
    return objective


def parse_range(where: str, key: Any, spec: Any, params: dict):
    """The optuna distribution of one param: ``{low, high[, log][, step]}`` for a number, ``{choices}`` else.

    The param's type is its value's in ``params.yaml``; the bounds and choices must pass the schema of its
    section, so no trial proposes a value its stage refuses.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    current = _param_value(where, key, params)
    if not isinstance(spec, dict):
        raise TuneConfigError(f"{where} must be a mapping: {{low, high}} (optional log, step) or {{choices}}, "
                              f"got {spec!r}")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise TuneConfigError(f"{where}: 'choices' goes alone, without {sorted(set(spec) - {'choices'})}")
        choices = spec["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            raise TuneConfigError(f"{where}.choices must be a list of at least two values, got {choices!r}")
        for choice in choices:
            if not _same_type(choice, current):
                raise TuneConfigError(f"{where}.choices: {choice!r} is not of the type of {key} in {PARAMS} "
                                      f"({type(current).__name__})")
        if len({json.dumps(choice) for choice in choices}) != len(choices):
            raise TuneConfigError(f"{where}.choices {choices!r} repeats a value")
        choices = [float(choice) if isinstance(current, float) else choice for choice in choices]
        _check_schema(where, key, choices, params)
        return CategoricalDistribution(choices)

    if isinstance(current, bool) or not isinstance(current, int | float):
        raise TuneConfigError(f"{where}: {key} is {type(current).__name__} in {PARAMS}, not a number: search it "
                              f"with {{choices: [...]}}")
    unknown = sorted(set(spec) - RANGE_KEYS)
    if unknown:
        raise TuneConfigError(f"{where}: unknown key(s) {unknown}; allowed keys are {sorted(RANGE_KEYS)}, or "
                              f"'choices' alone")
    if "low" not in spec or "high" not in spec:
        raise TuneConfigError(f"{where} needs both low and high")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    integer = isinstance(current, int)
    number = _is_int if integer else _is_number
    kind = "whole numbers" if integer else "numbers"
    if not number(low) or not number(high):
        raise TuneConfigError(f"{where}: low = {low!r} and high = {high!r} must be {kind}, as {key} is in {PARAMS}")
    if not low < high:
        raise TuneConfigError(f"{where}: low = {low!r} must be below high = {high!r}")
    if not isinstance(log, bool):
        raise TuneConfigError(f"{where}.log = {log!r} must be true or false")
    if log and low <= 0:
        raise TuneConfigError(f"{where}: a log scale needs low > 0, got {low!r}")
    if step is not None:
        if log:
            raise TuneConfigError(f"{where}: step and log do not go together")
        if not number(step) or step <= 0:
            raise TuneConfigError(f"{where}.step = {step!r} must be a positive {kind[:-1]}")
    _check_schema(where, key, [low, high], params)
    if integer:
        return IntDistribution(low, high, log=log, step=step or 1)
    return FloatDistribution(float(low), float(high), log=log, step=None if step is None else float(step))


def _param_value(where: str, key: Any, params: dict) -> Any:
    """The current value of the dotted ``key`` in ``params.yaml``: a scalar of a tunable section."""
    if not isinstance(key, str) or not key:
        raise TuneConfigError(f"{where}: the param {key!r} must be a dotted path such as train_logreg.C")
    section, *rest = key.split(".")
    if section not in params:
        raise TuneConfigError(f"{where}: {PARAMS} has no section {section!r}")
    if section not in TUNABLE_SECTIONS:
        raise TuneConfigError(f"{where}: only the training stages' params are searched "
                              f"({', '.join(f'{name}.*' for name in TUNABLE_SECTIONS)}); fetch and preprocess "
                              f"decide the data, and the validation digits, that trials are compared on")
    if rest and rest[-1] == "seed":
        raise TuneConfigError(f"{where}: seeds are not searched: a search over seeds picks the luckiest draw on "
                              f"the validation digits, not a better model")
    value, path = params[section], section
    for part in rest:
        if not isinstance(value, dict) or part not in value:
            known = sorted(value) if isinstance(value, dict) else []
            raise TuneConfigError(f"{where}: {key} is not in {PARAMS}; {path} has {known}")
        value, path = value[part], f"{path}.{part}"
    if isinstance(value, dict | list) or value is None:
        raise TuneConfigError(f"{where}: {key} is not a single value in {PARAMS} (a search varies numbers, "
                              f"booleans or names one at a time)")
    return value


def _check_schema(where: str, key: str, values: list, params: dict) -> None:
    """Each value in its place in a copy of the section passes the section's schema, as the stage checks it."""
    section, *rest = key.split(".")
    module, name = TUNABLE_SECTIONS[section]
    schema = getattr(importlib.import_module(module), name)
    for value in values:
        mapping = json.loads(json.dumps(params[section]))
        target = mapping
        for part in rest[:-1]:
            target = target[part]
        target[rest[-1]] = value
        try:
            parse(schema, mapping, section)
        except ParamsError as error:
            raise TuneConfigError(f"{where}: {value!r} is not allowed in {PARAMS}: {error}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _same_type(value: Any, current: Any) -> bool:
    if isinstance(current, bool) or isinstance(value, bool):
        return isinstance(current, bool) and isinstance(value, bool)
    if isinstance(current, float):
        return _is_number(value)
    return type(value) is type(current)


# ------------------------------------------------------------------------------ the record: DVC experiments


@dataclasses.dataclass(frozen=True)
class Trial:
    """A finished trial: one DVC experiment of the current commit."""

    number: int  # NN of tune-<study>-NN
    name: str
    rev: str
    params: dict[str, Any]  # the searched params' values
    value: float  # the objective


@dataclasses.dataclass(frozen=True)
class Record:
    """What the DVC experiments say of a study: the trials it counts, the numbers taken, why some do not count,
    and the searched params' values in the workspace's params.yaml when they lie in the space (else None)."""

    trials: list[Trial]
    numbers: set[int]
    notes: list[str]
    workspace: dict[str, Any] | None


def experiment_name(study: str, number: int) -> str:
    return f"tune-{study}-{number:02d}"


def experiment_number(study: str, name: Any) -> int | None:
    """NN of an experiment named ``tune-<study>-NN``; None for any other name."""
    match = re.fullmatch(rf"tune-{re.escape(study)}-(\d+)", name) if isinstance(name, str) else None
    return int(match.group(1)) if match else None


def read_record(exp_show: list[dict], study: Study) -> Record:
    """The study's trials among the experiments of `dvc exp show --json` (the workspace and its commit).

    An experiment counts when each searched param lies in the study's space, every other param equals the
    workspace's (else it ran another setup) and its metrics hold the objective.
    """
    workspace = next((entry for entry in exp_show if entry.get("rev") == "workspace"), None)
    baseline = next((entry for entry in exp_show if entry.get("rev") != "workspace"), None)
    if workspace is None or baseline is None:
        raise PipelineError("`dvc exp show --json` listed no workspace and commit: is this a git repository "
                            "with a commit?")
    workspace_params = _flatten(_file_data(workspace.get("data") or {}, "params", PARAMS) or {})
    trials, numbers, notes = [], set(), []
    for experiment in baseline.get("experiments") or []:
        number = experiment_number(study.name, experiment.get("name"))
        if number is None:
            continue
        numbers.add(number)
        rev = (experiment.get("revs") or [{}])[0]
        name = experiment["name"]
        data = rev.get("data") or {}
        if rev.get("error") or not data:
            notes.append(f"{name} is not counted: DVC reports no results for it ({rev.get('error')})")
            continue
        params = _flatten(_file_data(data, "params", PARAMS) or {})
        reason = _not_in_space(study, params) or _differs_outside_space(study, params, workspace_params)
        value = _lookup(_file_data(data, "metrics", METRICS) or {}, study.objective)
        if reason is None and not _is_number(value):
            reason = f"its {METRICS} has no {study.objective}"
        if reason:
            notes.append(f"{name} is not counted: {reason}")
            continue
        trials.append(Trial(number=number, name=name, rev=rev.get("rev", ""),
                            params={key: params[key] for key in study.space}, value=float(value)))
    trials.sort(key=lambda trial: trial.number)
    workspace_point = None if _not_in_space(study, workspace_params) else {key: workspace_params[key]
                                                                           for key in study.space}
    return Record(trials=trials, numbers=numbers, notes=notes, workspace=workspace_point)


def _file_data(data: dict, kind: str, path: Path) -> Any:
    return ((data.get(kind) or {}).get(path.as_posix()) or {}).get("data")


def _flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _lookup(mapping: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(mapping, dict) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def _not_in_space(study: Study, params: dict) -> str | None:
    for key, distribution in study.space.items():
        if key not in params or not contains(distribution, params[key]):
            return f"its {key} = {params.get(key)!r} lies outside the space of {CONFIG}"
    return None


def _differs_outside_space(study: Study, params: dict, workspace: dict) -> str | None:
    differing = sorted(key for key in set(params) | set(workspace)
                       if key not in study.space and params.get(key) != workspace.get(key))
    if differing:
        return f"its {PARAMS} differs from the workspace's in {', '.join(differing)}"
    return None


def contains(distribution: Any, value: Any) -> bool:
    """Whether ``value`` (as `dvc exp show` reads it from params.yaml) is a point of ``distribution``."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return any(_same_type(value, choice) and value == choice for choice in distribution.choices)
    if isinstance(distribution, IntDistribution) and not _is_int(value):
        return False
    if not _is_number(value) or not distribution.low <= value <= distribution.high:
        return False
    step = distribution.step
    return step is None or math.isclose((value - distribution.low) / step, round((value - distribution.low) / step))


# ------------------------------------------------------------------------------------------- the proposals


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


# ----------------------------------------------------------------------------------------------- the output


def ranked(trials: Sequence[Trial], direction: str) -> list[Trial]:
    """Best first; among equal values, the earlier trial first."""
    sign = -1 if direction == "maximize" else 1
    return sorted(trials, key=lambda trial: (sign * trial.value, trial.number))


def format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def format_table(study: Study, trials: Sequence[Trial]) -> str:
    """The trials as an aligned table, best first, with a rank column."""
    header = ["rank", "experiment", *study.space, study.objective]
    rows = [[str(rank), trial.name, *(format_value(trial.params[key]) for key in study.space), f"{trial.value:.4f}"]
            for rank, trial in enumerate(ranked(trials, study.direction), start=1)]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def format_summary(study: Study, trials: Sequence[Trial]) -> str:
    """The table and what to do with the best trial."""
    if not trials:
        return f"No trials of study {study.name} on this commit yet."
    best = ranked(trials, study.direction)[0]
    order = "desc" if study.direction == "maximize" else "asc"
    return "\n".join([
        f"{len(trials)} trials of study {study.name}, by {study.objective} (validation digits), best first:",
        "",
        format_table(study, trials),
        "",
        f"Best: {best.name} ({study.objective} {best.value:.4f}).",
        f"  dvc exp apply {best.name}    # its params and outputs into the workspace, to commit",
        f"  dvc exp show --sort-by {study.objective} --sort-order {order}    # every trial, all params and metrics",
    ])


# ------------------------------------------------------------------------------------------ running trials


class Experiments(Protocol):
    """What the search needs of DVC; tests substitute a fake."""

    def show(self) -> list[dict]: ...

    def run(self, name: str, overrides: list[str]) -> int: ...


class DvcExperiments:
    """The real `dvc exp show` and `dvc exp run`, from the Python running this module, in ``root``."""

    def __init__(self, root: Path):
        self.root = root

    def show(self) -> list[dict]:
        command = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PipelineError(f"`dvc exp show --json` failed (exit {result.returncode}):\n{result.stderr.strip()}")
        return json.loads(result.stdout)

    def run(self, name: str, overrides: list[str]) -> int:
        """`dvc exp run --temp`, its output on the terminal; its exit status."""
        command = [sys.executable, "-m", "dvc", "exp", "run", "--temp", "-n", name]
        for item in overrides:
            command += ["-S", item]
        process = subprocess.Popen(command, cwd=self.root)
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C at a terminal reaches DVC and its stage too: let DVC stop and remove its temporary copy.
            # Interrupted any other way, pass the interrupt on.
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)
                process.wait()
            raise


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
        raise SearchInterruptedError(len(trials), budget) from None
    return trials


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
    try:
        root = find_project_root()
        studies = load_studies(root / CONFIG, read_params(root / PARAMS))
        if args.study not in studies:
            raise TuneConfigError(f"no study {args.study!r} in {CONFIG}; its studies are {', '.join(studies)}")
        study = studies[args.study]
        trials = search(study, args.trials or study.trials, DvcExperiments(root))
    except SearchInterruptedError as stop:
        print(f"{PROG}: interrupted: {stop.done} of {stop.budget} trials of study {args.study} are done and kept "  # noqa: T201
              f"as DVC experiments; run the same command again to resume.", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
