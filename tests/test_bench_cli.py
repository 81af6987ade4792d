"""What the benchmarks' command lines share: counts and seeds checked as parsed, and the pipeline's data asked
for by the command that makes it."""

import argparse
import sys

import numpy as np
import pytest

from benchmarks import cli
from mnist_pipeline.artifacts import save_arrays
from mnist_pipeline.errors import ArtifactError, ModelLoadError
from mnist_pipeline.paths import PROCESSED_DATA


@pytest.mark.parametrize(("parse", "text", "value"), [(cli.count, "1", 1), (cli.count, "12", 12),
                                                      (cli.seed, "0", 0), (cli.seed, "2147483647", 2**31 - 1)])
def test_counts_and_seeds_are_read_as_whole_numbers(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(("parse", "text", "message"), [
    (cli.count, "0", "give a whole number of at least 1, not '0'"),
    (cli.count, "-2", "at least 1, not '-2'"),
    (cli.count, "2.5", "at least 1, not '2.5'"),
    (cli.count, "three", "at least 1, not 'three'"),
    (cli.seed, "-1", "a seed is a whole number from 0 to 2147483647, not '-1'"),
    (cli.seed, "3000000000", "from 0 to 2147483647, not '3000000000'"),
    (cli.seed, "x", "from 0 to 2147483647, not 'x'"),
])
def test_a_count_below_one_or_a_negative_seed_is_refused_as_argparse_refuses(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--n", type=parse)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--n", text])
    assert exit_.value.code == 2


def test_the_processed_data_is_read_or_asked_for_by_the_stage_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArtifactError, match=r"^data/processed/mnist\.npz is missing: run `dvc repro preprocess` "
                                            r"first"):
        cli.processed_data()
    PROCESSED_DATA.parent.mkdir(parents=True)
    PROCESSED_DATA.write_bytes(b"not an npz")
    with pytest.raises(ArtifactError, match=r"is not a readable npz .*`dvc repro --force preprocess`"):
        cli.processed_data()
    save_arrays(PROCESSED_DATA, x_train=np.zeros((2, 28, 28), np.uint8))
    assert cli.processed_data()["x_train"].shape == (2, 28, 28)


def test_a_benchmark_refused_by_the_projects_code_says_why_in_a_line(monkeypatch, capsys):
    def refused():
        raise ModelLoadError("models/logreg.skops not found: train it with `dvc repro`")

    monkeypatch.setattr(sys, "argv", ["/somewhere/benchmarks/bench_serve.py"])
    with pytest.raises(SystemExit) as exit_:
        cli.run(refused)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "bench_serve: error: models/logreg.skops not found: train it with `dvc repro`\n"
    for status in (None, 0, 3):
        with pytest.raises(SystemExit) as exit_:
            cli.run(lambda status=status: status)
        assert exit_.value.code == status  # the benchmark's own exit status
