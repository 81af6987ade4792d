"""Typed, validated sections of ``params.yaml``.

Each stage reads exactly one section through :func:`load_section`, which fails
before any heavy work when a key is unknown, missing, of the wrong type, out of
range or not one of the allowed choices. The error names the key, the value and
what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from mnist_pipeline.errors import PipelineError


class ParamsError(PipelineError):
    """``params.yaml`` holds a value the pipeline cannot use."""


def _range(low: float | None = None, high: float | None = None, *, low_open: bool = False):
    """Field metadata bounding a number: ``low <= x <= high`` (``low < x`` if ``low_open``)."""
    return {"low": low, "high": high, "low_open": low_open}


@dataclasses.dataclass(frozen=True)
class FetchParams:
    mirrors: list[str]
    timeout: float = dataclasses.field(metadata=_range(0, 600, low_open=True))
    retries: int = dataclasses.field(metadata=_range(1, 10))


@dataclasses.dataclass(frozen=True)
class PreprocessParams:
    val_size: int = dataclasses.field(metadata=_range(1, 30_000))
    # Use only the first ``train_limit`` training digits (after the split); 0 keeps all.
    train_limit: int = dataclasses.field(metadata=_range(0, 60_000))
    seed: int = dataclasses.field(metadata=_range(0, 2**32 - 1))


@dataclasses.dataclass(frozen=True)
class TrainLogregParams:
    deskew: bool
    C: float = dataclasses.field(metadata=_range(0, None, low_open=True))
    max_iter: int = dataclasses.field(metadata=_range(1, 100_000))
    tol: float = dataclasses.field(metadata=_range(0, 1, low_open=True))
    solver: Literal["lbfgs", "newton-cg", "sag", "saga"]
    seed: int = dataclasses.field(metadata=_range(0, 2**32 - 1))


@dataclasses.dataclass(frozen=True)
class CnnParams:
    epochs: int = dataclasses.field(metadata=_range(1, 1000))
    filters: list[int]
    batch_norm: bool
    dense_units: int = dataclasses.field(metadata=_range(0, 4096))
    dropout: float = dataclasses.field(metadata=_range(0, 0.95))


@dataclasses.dataclass(frozen=True)
class MlpParams:
    epochs: int = dataclasses.field(metadata=_range(1, 1000))
    hidden_units: list[int]
    dropout: float = dataclasses.field(metadata=_range(0, 0.95))


@dataclasses.dataclass(frozen=True)
class AugmentParams:
    # Fractions of the image size / of a full turn, as Keras' RandomTranslation and RandomRotation take them.
    shift: float = dataclasses.field(metadata=_range(0, 0.5))
    rotation: float = dataclasses.field(metadata=_range(0, 0.5))


@dataclasses.dataclass(frozen=True)
class TrainNnParams:
    arch: Literal["cnn", "mlp"]
    batch_size: int = dataclasses.field(metadata=_range(1, 65_536))
    learning_rate: float = dataclasses.field(metadata=_range(0, 10, low_open=True))
    # Fraction of the training steps spent warming the learning rate up (one-cycle schedule).
    warmup: float = dataclasses.field(metadata=_range(0, 0.9))
    label_smoothing: float = dataclasses.field(metadata=_range(0, 0.5))
    seed: int = dataclasses.field(metadata=_range(0, 2**31 - 1))
    # TensorFlow's intra-op thread pool; 0 means one thread per CPU core.
    threads: int = dataclasses.field(metadata=_range(0, 256))
    # Average the saved model's predictions over one-pixel shifts of each image.
    tta: bool
    augment: AugmentParams
    cnn: CnnParams
    mlp: MlpParams

    @property
    def epochs(self) -> int:
        """Each architecture has its own number of epochs: an MLP epoch costs a fraction of a CNN's."""
        return self.cnn.epochs if self.arch == "cnn" else self.mlp.epochs


@dataclasses.dataclass(frozen=True)
class VisualizeParams:
    n_samples: int = dataclasses.field(metadata=_range(1, 400))
    n_misclassified: int = dataclasses.field(metadata=_range(1, 400))
    dpi: int = dataclasses.field(metadata=_range(50, 600))
    seed: int = dataclasses.field(metadata=_range(0, 2**32 - 1))


SECTIONS: dict[str, type] = {
    "fetch": FetchParams,
    "preprocess": PreprocessParams,
    "train_logreg": TrainLogregParams,
    "train_nn": TrainNnParams,
    "visualize": VisualizeParams,
}


def load_section(path: Path, section: str):
    """Read ``params.yaml`` and return its ``section`` as a validated dataclass."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the project root") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or section not in document:
        raise ParamsError(f"{path} has no section '{section}'")
    return parse(SECTIONS[section], document[section], section)


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
    return value


def _check_range(bounds: Any, value: Any, key: str) -> None:
    if not bounds:
        return
    low, high = bounds["low"], bounds["high"]
    too_low = low is not None and (value <= low if bounds["low_open"] else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        low_text = "" if low is None else f"{low} {'<' if bounds['low_open'] else '<='} "
        high_text = "" if high is None else f" <= {high}"
        raise ParamsError(f"{key} = {value!r} is out of range; allowed: {low_text}{key}{high_text}")
