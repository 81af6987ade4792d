"""Typed, validated sections of ``params.yaml``.

Each stage reads exactly one section through :func:`load_section`, which fails
before any heavy work when a key is unknown, missing, of the wrong type, out of
range or not one of the allowed choices. The error names the key, the value and
what is allowed.

Each section's schema, a frozen dataclass, lives in the module that uses it
(``FetchParams`` in ``sources``, ``TrainNnParams`` in ``nn``...), so an edit to one
schema reruns only the stage that reads it; this module holds the checks alone.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from mnist_pipeline.errors import PipelineError

T = TypeVar("T")


class ParamsError(PipelineError):
    """``params.yaml`` holds a value the pipeline cannot use."""


def bounded(low: float | None = None, high: float | None = None, *, low_open: bool = False):
    """A dataclass field for a number ``low <= x <= high`` (``low < x`` if ``low_open``), or a list of such numbers,
    checked on load."""
    return dataclasses.field(metadata={"low": low, "high": high, "low_open": low_open})


def load_section(path: Path, section: str, schema: type[T]) -> T:
    """Read ``params.yaml`` and return its ``section`` as the validated dataclass ``schema``."""
    return parse(schema, _lookup(read_yaml(path), section, path), section)


def read_yaml(path: Path, *, missing: str = "run the stage from the project root",
              error: type[PipelineError] = ParamsError) -> Any:
    """The parsed YAML file ``path``. ``error`` is raised, naming the file, when it is missing (its message ends
    with ``missing``: what to do) or not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise error(f"{path} not found: {missing}") from None
    except yaml.YAMLError as problem:
        raise error(f"{path} is not valid YAML: {problem}") from None


def _lookup(mapping: Any, section: str, path: Path) -> Any:
    """``mapping``'s entry ``section``."""
    if not isinstance(mapping, dict) or section not in mapping:
        raise ParamsError(f"{path} has no section '{section}'")
    return mapping[section]


def parse(cls: type, mapping: Any, where: str):
    """Build dataclass ``cls`` from ``mapping``, checking every key; ``where`` prefixes error messages."""
    if not isinstance(mapping, dict):
        raise ParamsError(f"{where} must be a mapping of keys to values, got {mapping!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {unknown}; allowed keys are {sorted(fields)}")
    missing = sorted(set(fields) - set(mapping))
    if missing:
        raise ParamsError(f"{where}: missing key(s) {missing}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, field in fields.items():
        key = f"{where}.{name}"
        value = _check_type(hints[name], mapping[name], key)
        _check_range(field.metadata, value, key)
        values[name] = value
    return cls(**values)


def _check_type(hint: Any, value: Any, key: str):
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return parse(hint, value, key)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ParamsError(f"{key} = {value!r} is not allowed; choose one of {list(choices)}")
        return value
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        if not isinstance(value, list) or not value:
            raise ParamsError(f"{key} = {value!r} must be a non-empty list")
        return [_check_type(item_hint, item, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unions are not supported in params ({key})")
    # YAML has no bool/int distinction for Python, so a bool must not pass as an int.
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint in (int, float) and isinstance(value, bool)):
        raise ParamsError(f"{key} = {value!r} must be of type {hint.__name__}")
    # YAML's .nan and .inf are floats, and every comparison with NaN is false: no range check would catch it.
    if hint is float and not math.isfinite(value):
        raise ParamsError(f"{key} = {value!r} must be a finite number")
    return value


def _check_range(bounds: Any, value: Any, key: str) -> None:
    if not bounds:
        return
    if isinstance(value, list):  # the bounds of a list's field hold for each of its items
        for i, item in enumerate(value):
            _check_range(bounds, item, f"{key}[{i}]")
        return
    low, high = bounds["low"], bounds["high"]
    too_low = low is not None and (value <= low if bounds["low_open"] else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        low_text = "" if low is None else f"{low} {'<' if bounds['low_open'] else '<='} "
        high_text = "" if high is None else f" <= {high}"
        raise ParamsError(f"{key} = {value!r} is out of range; allowed: {low_text}{key}{high_text}")
