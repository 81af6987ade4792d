"""The search's record: the DVC experiments of the current commit named ``tune-<study>-<NN>``, read back into
the trials they hold."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pandas as pd

from mnist_pipeline.errors import PipelineError
from mnist_pipeline.paths import METRICS, PARAMS
from mnist_pipeline.sections import SECTIONS
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


def experiments_table(rows: list[dict]) -> pd.DataFrame:
    """The rows of :func:`dvc.api.exp_show` (one a workspace, commit or experiment; params and metrics flattened
    to dotted columns) as a table, each value as DVC read it: ``None`` where a row has none."""
    table = pd.DataFrame(rows, dtype=object)
    return table.astype(object).where(table.notna(), None)


def read_record(experiments: pd.DataFrame, study: Study) -> Record:
    """The study's trials among the rows of :func:`experiments_table` (the workspace, its commit and the
    commit's experiments).

    An experiment counts when each searched param lies in the study's space, every other param equals the
    workspace's (else it ran another setup) and its metrics hold the objective.
    """
    workspace = experiments[experiments["rev"] == "workspace"] if "rev" in experiments else experiments.iloc[:0]
    if workspace.empty:
        raise PipelineError("`dvc exp show` listed no workspace: is this a git repository with a commit?")
    # Params are the columns of params.yaml's sections; the others are metrics and the dependencies' hashes.
    params_columns = [column for column in experiments.columns if column.split(".", 1)[0] in SECTIONS]
    workspace_params = _values(workspace.iloc[0], params_columns)
    trials, numbers, notes = [], set(), []
    for _, row in experiments.iterrows():
        name = row.get("Experiment")
        number = experiment_number(study.name, name)
        if number is None:
            continue
        numbers.add(number)
        params = _values(row, params_columns)
        if row.get("State") not in (None, "Success") or not params:
            notes.append(f"{name} is not counted: DVC reports no results for it (state {row.get('State')})")
            continue
        reason = _not_in_space(study, params) or _differs_outside_space(study, params, workspace_params)
        value = row.get(study.objective)
        if reason is None and not _is_number(value):
            reason = f"its {METRICS} has no {study.objective}"
        if reason:
            notes.append(f"{name} is not counted: {reason}")
            continue
        trials.append(Trial(number=number, name=name, rev=str(row.get("rev") or ""),
                            params={key: params[key] for key in study.space}, value=float(value)))
    trials.sort(key=lambda trial: trial.number)
    workspace_point = None if _not_in_space(study, workspace_params) else {key: workspace_params[key]
                                                                           for key in study.space}
    return Record(trials=trials, numbers=numbers, notes=notes, workspace=workspace_point)


def _values(row: pd.Series, columns: list[str]) -> dict[str, Any]:
    return {column: row[column] for column in columns if row[column] is not None}


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
