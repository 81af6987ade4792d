"""The search's record: the DVC experiments of the current commit named ``tune-<study>-<NN>``, read back into
the trials they hold."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import METRICS, PARAMS
from mnist_pipeline.tools.tune.config import (
    CONFIG,
    Study,
    _is_int,
    _is_number,
    _same_type,
)


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
