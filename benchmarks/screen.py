"""Screen a change to the network's recipe: train it with several seeds and print each seed's test accuracy.

    python -m benchmarks.screen                                   # the default recipe, seeds 42, 43, 44
    python -m benchmarks.screen --set cnn.batch_norm=true --set cnn.epochs=10 --seeds 42 43

Each ``--set key=value`` overrides one key of params.yaml's ``train_nn`` section (dotted for nested sections;
the value is read as YAML) and goes through the same validation as the stage's. Every training starts from the
same data (``data/processed/mnist.npz``, from `dvc repro preprocess`) and is scored on the 10,000 test digits
as the saved model would score them (with test-time augmentation where ``tta`` is on). The seconds are each
training's wall clock in this process: they compare only with trainings screened on the same machine under the
same load, which is why the issue-13 targets are measured by :mod:`benchmarks.bench_models`, not here.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np
import yaml

from benchmarks import cli
from mnist_pipeline.model_io import predict_proba
from mnist_pipeline.nn import TrainNnParams, compute_precision, configure_tensorflow, train_nn
from mnist_pipeline.params import ParamsError, parse
from mnist_pipeline.paths import PARAMS


def with_overrides(section: dict, overrides: list[str]) -> dict:
    """``section`` with each ``key.sub=value`` of ``overrides`` set (the value parsed as YAML); an override that
    is no ``key=value``, names no key of the section or holds no YAML value exits with a message naming it."""
    section = yaml.safe_load(yaml.safe_dump(section))  # a deep copy
    for override in overrides:
        key, equals, value = override.partition("=")
        if not equals:
            raise SystemExit(f"--set {override}: give KEY=VALUE, such as cnn.epochs=10")
        *parents, leaf = key.split(".")
        node = section
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise SystemExit(f"--set {override}: train_nn has no key {key!r}")
        try:
            node[leaf] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise SystemExit(f"--set {override}: the value is no YAML ({error.problem or error})") from None
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of train_nn (repeatable), e.g. cnn.epochs=10")
    parser.add_argument("--seeds", type=cli.seed, nargs="+", default=[42, 43, 44])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    section = with_overrides(yaml.safe_load(PARAMS.read_text())["train_nn"], args.overrides)
    try:
        params = parse(TrainNnParams, section, "train_nn")
    except ParamsError as error:  # a value of the right key, but one the stage would refuse
        parser.error(f"--set: {error}" if args.overrides else f"{PARAMS}: {error}")
    configure_tensorflow(params.threads, params.towers, params.compute)
    data = cli.processed_data()
    label = ", ".join(args.overrides) or "the default recipe"
    rows, accuracies = [], []
    for seed in args.seeds:  # Keras prints each epoch's line meanwhile; the table comes whole at the end
        start = time.perf_counter()
        model = train_nn(data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                         parse(TrainNnParams, {**section, "seed": seed}, "train_nn"))
        seconds = time.perf_counter() - start
        accuracy = float((predict_proba(model, data["x_test"]).argmax(1) == data["y_test"]).mean())
        accuracies.append(accuracy)
        rows.append(f"| {seed} | {accuracy:.2%} | {seconds:.1f} |")
    spread = f" ± {statistics.stdev(accuracies):.2%}" if len(accuracies) > 1 else ""
    print()
    print(f"{label} ({params.arch}, {compute_precision(params.training.precision, params.compute)})")
    print()
    print("\n".join(["| seed | test accuracy | training s |", "|---|---|---|", *rows,
                     f"| mean | {np.mean(accuracies):.2%}{spread} | |"]))


if __name__ == "__main__":
    cli.run(main)
