"""The studies of ``tune.yaml``: each read, checked against ``params.yaml`` and its sections' schemas, into a
:class:`Study` whose space holds Optuna distributions."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.params import ParamsError, parse, read_yaml
from mnist_pipeline.paths import METRICS, MODEL_NAMES, PARAMS
from mnist_pipeline.sections import SECTIONS, TRAINING_SECTIONS

CONFIG = Path("tune.yaml")
# The sections a study may search: the training stages' (mnist_pipeline.sections). fetch and preprocess decide
# the data, and the validation digits, that trials are compared on; visualize only draws.
TUNABLE_SECTIONS = {section: SECTIONS[section] for section in TRAINING_SECTIONS.values()}
STUDY_KEYS = {"objective", "trials", "space", "seed", "direction"}
REQUIRED_STUDY_KEYS = {"objective", "trials", "space"}
RANGE_KEYS = {"low", "high", "log", "step"}


class TuneConfigError(PipelineError):
    """``tune.yaml`` holds a study that cannot run."""

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
    document = read_yaml(config, missing="it holds the studies `make tune` runs", error=TuneConfigError)
    if not isinstance(document, dict) or not document:
        raise TuneConfigError(f"{config} must map each study's name to its settings")
    return {name: parse_study(name, settings, params) for name, settings in document.items()}


def read_params(path: Path) -> dict:
    """The parsed ``params.yaml`` the studies are checked against."""
    params = read_yaml(path, missing="run `make tune` in the project", error=TuneConfigError)
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


def check_objective_is_measured(study: Study, metrics: Any) -> None:
    """Refuse an objective that ``metrics`` (the workspace's :data:`METRICS`, from the last run: its keys are what
    each trial's run writes) do not hold, before a trial spends minutes running to find it missing."""
    model, metric = study.objective.split(".")
    measured = sorted(key for key in ((metrics or {}).get(model) or {}) if key.startswith("val_"))
    if metric not in measured:
        held = ", ".join(f"{model}.{key}" for key in measured) or f"no validation metric of {model}"
        raise TuneConfigError(f"{study.name}.objective = {study.objective!r}: the last run wrote no {metric} of "
                              f"{model} ({METRICS} has {held}); if `evaluate` writes it now, run `dvc repro "
                              f"evaluate` first")


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
    schema = TUNABLE_SECTIONS[section]
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
