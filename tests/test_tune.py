"""`make tune`: the study config, the record kept as DVC experiments, the proposals and the table, against a fake
DVC; then a real three-trial search on the tiny configuration, interrupted at its last trial and resumed."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from helpers import REPO_ROOT, as_in_a_terminal
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from mnist_pipeline.tools import tune
from mnist_pipeline.tools.tune import (
    SearchInterruptedError,
    Study,
    Trial,
    TrialError,
    TuneConfigError,
    contains,
    experiment_number,
    experiments_table,
    format_summary,
    format_table,
    load_studies,
    override,
    parse_study,
    ranked,
    read_record,
    search,
    trial_seed,
)
from mnist_pipeline.tools.tune import runner as tune_runner
from mnist_pipeline.tools.tune.config import check_objective_is_measured

PARAMS = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
LOGREG = {"objective": "logreg.val_accuracy", "trials": 3, "seed": 0,
          "space": {"train_logreg.C": {"low": 0.1, "high": 1000.0, "log": True}}}


def study(**changes) -> Study:
    return parse_study("logreg", {**copy.deepcopy(LOGREG), **changes}, PARAMS)


def config_error(settings: dict, name: str = "logreg") -> str:
    with pytest.raises(TuneConfigError) as error:
        parse_study(name, settings, PARAMS)
    return str(error.value)


def with_space(space: dict, **changes) -> dict:
    return {**LOGREG, "space": space, **changes}


# ---------------------------------------------------------------------------------------------- the config


def test_the_committed_studies_are_valid_and_choose_by_validation_accuracy():
    studies = load_studies(REPO_ROOT / "tune.yaml", PARAMS)
    assert {"logreg", "cnn"} <= set(studies)
    for name, each in studies.items():
        assert each.objective.split(".")[1].startswith("val_"), name
        assert each.trials >= 1
    assert studies["logreg"].space == {"train_logreg.C": FloatDistribution(0.1, 1000.0, log=True)}


def test_types_and_defaults_come_from_params_yaml():
    parsed = parse_study("nn", {"objective": "nn.val_accuracy", "trials": 2, "space": {
        "train_nn.cnn.dropout": {"low": 0, "high": 0.5},
        "train_nn.cnn.dense_units": {"low": 16, "high": 256, "step": 16},
        "train_nn.tta": {"choices": [True, False]},
        "train_nn.arch": {"choices": ["cnn", "mlp"]},
    }}, PARAMS)
    assert parsed.seed == 0 and parsed.direction == "maximize"
    assert parsed.space == {
        "train_nn.cnn.dropout": FloatDistribution(0.0, 0.5),
        "train_nn.cnn.dense_units": IntDistribution(16, 256, step=16),
        "train_nn.tta": CategoricalDistribution([True, False]),
        "train_nn.arch": CategoricalDistribution(["cnn", "mlp"]),
    }


@pytest.mark.parametrize(("objective", "message"), [
    ("logreg.accuracy", "is measured on the test digits"),
    ("nn.f1_macro", "Choose by a validation metric (val_*), e.g. nn.val_accuracy"),
    ("svm.val_accuracy", "no model 'svm'"),
    ("val_accuracy", "as <model>.<metric>"),
    (3, "as <model>.<metric>"),
])
def test_an_objective_must_be_a_validation_metric_of_a_model(objective, message):
    assert message in config_error({**LOGREG, "objective": objective})


def test_an_objective_the_pipeline_does_not_measure_is_refused_before_any_trial_runs():
    committed = json.loads((REPO_ROOT / "reports" / "metrics.json").read_text())
    check_objective_is_measured(study(), committed)  # what the committed studies choose by
    with pytest.raises(TuneConfigError, match=r"^logreg\.objective = 'logreg\.val_bogus': the last run wrote no "
                                              r"val_bogus of logreg \(reports/metrics\.json has "
                                              r"logreg\.val_accuracy\); if `evaluate` writes it now, run `dvc "
                                              r"repro evaluate` first$"):
        check_objective_is_measured(study(objective="logreg.val_bogus"), committed)
    with pytest.raises(TuneConfigError, match=r"\(reports/metrics\.json has no validation metric of logreg\)"):
        check_objective_is_measured(study(), {"nn": committed["nn"]})


@pytest.mark.parametrize(("settings", "message"), [
    ({**LOGREG, "budget": 3}, "unknown key(s) ['budget']"),
    ({k: v for k, v in LOGREG.items() if k != "trials"}, "missing key(s) ['trials']"),
    ({**LOGREG, "trials": 0}, "logreg.trials = 0 must be a whole number of at least 1"),
    ({**LOGREG, "trials": 2.5}, "logreg.trials = 2.5"),
    ({**LOGREG, "seed": -1}, "logreg.seed = -1"),
    ({**LOGREG, "direction": "up"}, "logreg.direction = 'up'"),
    ({**LOGREG, "space": {}}, "logreg.space must map each param"),
    ("C: 1", "logreg must be a mapping"),
])
def test_a_study_with_unknown_missing_or_bad_keys_is_refused(settings, message):
    assert message in config_error(settings)


def test_a_study_name_becomes_part_of_experiment_names():
    assert "use lowercase letters" in config_error(LOGREG, name="Log Reg")


@pytest.mark.parametrize(("space", "message"), [
    ({"train_logreg.Cc": {"low": 1, "high": 2}}, "train_logreg.Cc is not in params.yaml; train_logreg has ['C', "),
    ({"train_nn.cnn.drop": {"low": 0, "high": 0.5}}, "train_nn.cnn.drop is not in params.yaml; train_nn.cnn has"),
    ({"training.C": {"low": 1, "high": 2}}, "params.yaml has no section 'training'"),
    ({"preprocess.val_size": {"low": 100, "high": 200}}, "only the training stages' params are searched"),
    ({"train_logreg.seed": {"low": 0, "high": 9}}, "seeds are not searched"),
    ({"train_nn.cnn": {"low": 0, "high": 1}}, "is not a single value"),
    ({"train_nn.cnn.filters": {"choices": [[4], [8]]}}, "is not a single value"),
    ({"train_logreg.C": {"low": 1.0, "high": 0.1}}, "low = 1.0 must be below high = 0.1"),
    ({"train_logreg.C": {"low": 0.1, "high": 0.1}}, "must be below"),
    ({"train_logreg.C": {"low": 0.0, "high": 1.0, "log": True}}, "a log scale needs low > 0"),
    ({"train_logreg.C": {"low": "a", "high": 1.0}}, "must be numbers"),
    ({"train_logreg.C": {"low": 0.1}}, "needs both low and high"),
    ({"train_logreg.C": {"low": 0.1, "high": 1, "scale": "log"}}, "unknown key(s) ['scale']"),
    ({"train_logreg.C": {"low": 0.1, "high": 1, "log": "yes"}}, ".log = 'yes' must be true or false"),
    ({"train_logreg.C": {"low": 0.1, "high": 1, "log": True, "step": 0.1}}, "step and log do not go together"),
    ({"train_logreg.C": [0.1, 1]}, "must be a mapping"),
    ({"train_logreg.max_iter": {"low": 10.0, "high": 100}}, "must be whole numbers, as train_logreg.max_iter is"),
    ({"train_logreg.max_iter": {"low": 10, "high": 100, "step": 0}}, ".step = 0 must be a positive whole number"),
    ({"train_logreg.deskew": {"low": 0, "high": 1}}, "is bool in params.yaml, not a number"),
    ({"train_logreg.deskew": {"choices": [True, 1]}}, "1 is not of the type of train_logreg.deskew"),
    ({"train_logreg.solver": {"choices": ["lbfgs"]}}, "at least two values"),
    ({"train_logreg.solver": {"choices": ["lbfgs", "lbfgs"]}}, "repeats a value"),
    ({"train_logreg.solver": {"choices": ["lbfgs", "x"], "low": 1}}, "'choices' goes alone"),
])
def test_a_space_entry_must_name_a_param_and_a_valid_range(space, message):
    assert message in config_error(with_space(space))


@pytest.mark.parametrize(("space", "message"), [
    ({"train_nn.cnn.dropout": {"low": 0.0, "high": 0.99}},
     "0.99 is not allowed in params.yaml: train_nn.cnn.dropout = 0.99 is out of range"),
    ({"train_logreg.solver": {"choices": ["lbfgs", "adam"]}}, "'adam' is not allowed"),
    ({"train_logreg.max_iter": {"low": 0, "high": 10}}, "0 is not allowed"),
])
def test_bounds_and_choices_must_pass_the_stage_s_own_checks(space, message):
    assert message in config_error(with_space(space))


def test_a_missing_or_broken_config_file_says_what_it_is(tmp_path):
    with pytest.raises(TuneConfigError, match=r"tune\.yaml not found"):
        load_studies(tmp_path / "tune.yaml", PARAMS)
    (tmp_path / "tune.yaml").write_text("logreg: [\n")
    with pytest.raises(TuneConfigError, match="not valid YAML"):
        load_studies(tmp_path / "tune.yaml", PARAMS)
    (tmp_path / "tune.yaml").write_text("")
    with pytest.raises(TuneConfigError, match="must map each study's name"):
        load_studies(tmp_path / "tune.yaml", PARAMS)


def test_contains_follows_each_distribution():
    assert contains(FloatDistribution(0.1, 1.0, log=True), 0.5)
    assert contains(FloatDistribution(0.1, 1.0), 1)
    assert not contains(FloatDistribution(0.1, 1.0), 1.5)
    assert not contains(FloatDistribution(0.1, 1.0), True)
    assert contains(FloatDistribution(0.0, 1.0, step=0.25), 0.75)
    assert not contains(FloatDistribution(0.0, 1.0, step=0.25), 0.7)
    assert contains(IntDistribution(16, 256, step=16), 48)
    assert not contains(IntDistribution(16, 256, step=16), 50)
    assert not contains(IntDistribution(16, 256), 48.0)
    assert contains(CategoricalDistribution([True, False]), False)
    assert not contains(CategoricalDistribution([1, 2]), True)
    assert not contains(CategoricalDistribution(["cnn"]), "mlp")


# ------------------------------------------------------------------------------------------ the proposals


@pytest.mark.parametrize("value", [1e-05, 0.1 + 0.2, 0.0012345678901234567, 1.0, 3, True, False, "lbfgs",
                                   "it's"])
def test_an_override_gives_dvc_the_exact_value(value):
    """`dvc exp run -S` parses with Hydra's override grammar: every digit of a float must survive."""
    parsed = OverridesParser.create().parse_override(override("train_logreg.C", value))
    assert parsed.key_or_group == "train_logreg.C"
    assert parsed.value() == value and type(parsed.value()) is type(value)


def test_each_trial_has_its_own_seed():
    seeds = [trial_seed(0, index) for index in range(20)] + [trial_seed(1, 0)]
    assert len(set(seeds)) == len(seeds)
    # The same on every machine and run: a resumed search proposes what the interrupted one would have.
    assert (trial_seed(0, 0), trial_seed(0, 3), trial_seed(1, 0)) == (2968811710, 2613022947, 1835504127)
    assert all(0 <= seed < 2**32 for seed in seeds)


# --------------------------------------------------------------------------- the record and a fake DVC


def flattened(mapping: dict, prefix: str = "") -> dict:
    """Nested params or metrics as `dvc.api.exp_show` flattens them: ``{"train_logreg.C": 0.01, ...}``."""
    flat = {}
    for key, value in mapping.items():
        flat.update(flattened(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat


def exp_show(workspace_params: dict, experiments: list[dict]):
    """What `dvc.api.exp_show` returns, as a table: the workspace, the commit, its experiments (newest first)."""
    baseline = {"Experiment": None, "typ": "baseline", "State": None, **flattened(workspace_params)}
    return experiments_table([{**baseline, "rev": "workspace"}, {**baseline, "rev": "c0ffee"},
                              *reversed(experiments)])


def experiment(name: str, params: dict, metrics: dict | None, *, failed: bool = False) -> dict:
    row = {"Experiment": name, "rev": f"rev-{name}", "typ": "branch_commit", "State": "Failed" if failed else "Success"}
    if not failed:
        row.update(flattened(params) | flattened(metrics or {}))
    return row


def with_c(c) -> dict:
    params = copy.deepcopy(PARAMS)
    params["train_logreg"]["C"] = c
    return params


def test_the_record_counts_the_study_s_experiments_and_says_why_others_do_not_count():
    other_max_iter = with_c(0.1)
    other_max_iter["train_logreg"]["max_iter"] = 5
    shown = exp_show(PARAMS, [
        experiment("tune-logreg-01", with_c(0.5), {"logreg": {"val_accuracy": 0.9}}),
        experiment("tune-logreg-02", with_c(5000.0), {"logreg": {"val_accuracy": 0.8}}),
        experiment("tune-logreg-03", other_max_iter, {"logreg": {"val_accuracy": 0.8}}),
        experiment("tune-logreg-04", with_c(0.2), {"logreg": {"accuracy": 0.8}}),
        experiment("tune-logreg-05", with_c(0.2), None, failed=True),
        experiment("tune-logreg-07", with_c(50.0), {"logreg": {"val_accuracy": 0.95}}),
        experiment("tune-cnn-08", with_c(0.3), {"logreg": {"val_accuracy": 0.99}}),
        experiment("strong-l2", with_c(0.3), {"logreg": {"val_accuracy": 0.99}}),
    ])
    record = read_record(shown, study())
    assert [(trial.name, trial.number, trial.rev, trial.params, trial.value) for trial in record.trials] == [
        ("tune-logreg-01", 1, "rev-tune-logreg-01", {"train_logreg.C": 0.5}, 0.9),
        ("tune-logreg-07", 7, "rev-tune-logreg-07", {"train_logreg.C": 50.0}, 0.95),
    ]
    assert record.numbers == {1, 2, 3, 4, 5, 7}
    assert record.workspace == {"train_logreg.C": PARAMS["train_logreg"]["C"]}
    notes = "\n".join(record.notes)
    assert "tune-logreg-02 is not counted: its train_logreg.C = 5000.0 lies outside the space of tune.yaml" in notes
    assert "tune-logreg-03 is not counted: its params.yaml differs from the workspace's in train_logreg.max_iter" \
        in notes
    assert "tune-logreg-04 is not counted: its reports/metrics.json has no logreg.val_accuracy" in notes
    assert "tune-logreg-05 is not counted: DVC reports no results" in notes
    assert len(record.notes) == 4


def test_the_workspace_is_no_starting_point_outside_the_space():
    record = read_record(exp_show(with_c(5000.0), []), study())
    assert record.trials == [] and record.workspace is None


def test_experiment_numbers_belong_to_one_study():
    assert experiment_number("logreg", "tune-logreg-07") == 7
    assert experiment_number("logreg", "tune-logreg-123") == 123
    assert experiment_number("logreg", "tune-logreg2-01") is None
    assert experiment_number("logreg", "tune-logreg-") is None
    assert experiment_number("logreg", None) is None


class FakeDvc:
    """`dvc exp show` and `dvc exp run` of a pretend repository: each run records an experiment whose
    validation accuracy peaks at C = 10."""

    def __init__(self, *, fail_at: int | None = None, interrupt_at: int | None = None,
                 interrupt_after: int | None = None, metric: str = "val_accuracy"):
        self.experiments: list[dict] = []
        self.runs: list[tuple[str, list[str]]] = []
        self.fail_at, self.interrupt_at, self.metric = fail_at, interrupt_at, metric
        self.interrupt_after = interrupt_after  # the run saved, then Ctrl-C reaches the search

    def show(self) -> list[dict]:
        return exp_show(PARAMS, self.experiments)

    def run(self, name: str, overrides: list[str]) -> int:
        self.runs.append((name, overrides))
        if len(self.runs) == self.interrupt_at:
            raise KeyboardInterrupt
        if len(self.runs) == self.fail_at:
            return 1
        params = copy.deepcopy(PARAMS)
        for item in overrides:
            parsed = OverridesParser.create().parse_override(item)
            section, key = parsed.key_or_group.split(".")
            params[section][key] = parsed.value()
        c = params["train_logreg"]["C"]
        value = round(0.95 - 0.01 * (math.log10(c) - 1) ** 2, 6)
        self.experiments.append(experiment(name, params, {"logreg": {self.metric: value}}))
        if len(self.runs) == self.interrupt_after:
            raise KeyboardInterrupt
        return 0

    def values(self) -> list[float]:
        return [float(items[0].split("=")[1]) for _, items in self.runs]


def test_a_search_runs_its_budget_starting_from_the_workspace_s_params(capsys):
    fake = FakeDvc()
    trials = search(study(), 4, fake)
    assert [name for name, _ in fake.runs] == ["tune-logreg-01", "tune-logreg-02", "tune-logreg-03", "tune-logreg-04"]
    assert [trial.name for trial in trials] == [name for name, _ in fake.runs]
    values = fake.values()
    assert values[0] == PARAMS["train_logreg"]["C"]
    assert len(set(values)) == 4 and all(0.1 <= value <= 1000 for value in values)
    output = capsys.readouterr().out
    assert "=== trial 1 of 4: tune-logreg-01 (the workspace's params)  train_logreg.C=30.0" in output
    assert re.search(r"^=== tune-logreg-04: logreg.val_accuracy 0\.\d{4}; best so far tune-logreg-\d\d", output, re.M)


def test_a_resumed_search_runs_only_the_missing_trials_and_proposes_what_one_run_would_have(capsys):
    whole = FakeDvc()
    search(study(), 4, whole)
    resumed = FakeDvc()
    search(study(), 2, resumed)
    search(study(), 4, resumed)
    assert resumed.runs == whole.runs
    assert "2 trial(s) of study logreg already done on this commit (tune-logreg-01, tune-logreg-02): not run again" \
        in capsys.readouterr().out
    assert len(search(study(), 3, resumed)) == 4 and len(resumed.runs) == 4  # the budget is spent: nothing runs


def test_a_new_trial_takes_the_next_free_number(capsys):
    fake = FakeDvc()
    fake.experiments.append(experiment("tune-logreg-07", with_c(5000.0), {"logreg": {"val_accuracy": 0.1}}))
    search(study(), 1, fake)
    assert [name for name, _ in fake.runs] == ["tune-logreg-08"]
    assert "note: tune-logreg-07 is not counted" in capsys.readouterr().out


def test_a_failed_trial_stops_the_search_and_keeps_the_ones_before_it():
    fake = FakeDvc(fail_at=3)
    with pytest.raises(TrialError) as error:
        search(study(), 4, fake)
    assert re.match(r"trial tune-logreg-03 \(train_logreg\.C=[\d.e-]+\) failed: `dvc exp run` exited 1 \(its output "
                    r"is above\)\. The 2 trial\(s\) before it are kept as DVC experiments: fix the cause and run again "
                    r"\(`make tune STUDY=logreg`\) to resume\.$", str(error.value))


def test_a_trial_without_the_objective_is_a_failure():
    with pytest.raises(TrialError, match=r"it finished, but `dvc exp show` has no logreg\.val_accuracy for it"):
        search(study(), 1, FakeDvc(metric="accuracy"))


# Ctrl-C during the third trial's run: before DVC saved it, or after (it reached DVC too late to stop the trial).
@pytest.mark.parametrize(("interrupt", "kept"), [({"interrupt_at": 3}, 2), ({"interrupt_after": 3}, 3)])
def test_ctrl_c_keeps_the_finished_trials_and_counts_those_dvc_kept(interrupt, kept):
    fake = FakeDvc(**interrupt)
    with pytest.raises(SearchInterruptedError) as stop:
        search(study(), 5, fake)
    assert (stop.value.done, stop.value.budget) == (kept, 5)
    assert len(fake.experiments) == kept


@pytest.fixture
def command_line(tmp_path, monkeypatch):
    """A project folder for `main`, with DVC replaced by ``fakes[0]``."""
    for name in ("dvc.yaml", "params.yaml", "tune.yaml"):
        (tmp_path / name).write_text((REPO_ROOT / name).read_text())
    monkeypatch.chdir(tmp_path)
    fakes = [FakeDvc()]
    monkeypatch.setattr(tune_runner, "DvcExperiments", lambda root: fakes[0])
    return fakes


def test_the_command_prints_the_ranked_trials_and_how_to_apply_the_best(command_line, capsys):
    assert tune.main(["logreg", "--trials", "3"]) == 0
    output = capsys.readouterr().out
    summary = output[output.index("3 trials of study logreg"):]
    rows = re.findall(r"^(\d)\s+(tune-logreg-\d\d)\s+([\d.e-]+)\s+(0\.\d{4})$", summary, re.M)
    assert [rank for rank, *_ in rows] == ["1", "2", "3"]
    values = [float(value) for *_, value in rows]
    assert values == sorted(values, reverse=True)
    best = rows[0][1]
    assert f"Best: {best} (logreg.val_accuracy {rows[0][3]})." in summary
    assert f"dvc exp apply {best}" in summary
    assert "dvc exp show --sort-by logreg.val_accuracy --sort-order desc" in summary


def test_the_command_says_one_line_on_ctrl_c(command_line, capsys):
    command_line[0] = FakeDvc(interrupt_at=2)
    assert tune.main(["logreg", "--trials", "3"]) == 130
    assert capsys.readouterr().err == (
        "mnist-tune: interrupted: 1 of 3 trials of study logreg are done and kept as DVC experiments; run the same "
        "command again to resume.\n")


def test_a_sigterm_stops_the_search_as_ctrl_c_does(command_line, capsys):
    class TerminatedDvc(FakeDvc):  # `timeout` or a cancelled job ends the search during its second trial
        def run(self, name, overrides):
            if len(self.runs) == 1:
                self.runs.append((name, overrides))
                os.kill(os.getpid(), signal.SIGTERM)
            return super().run(name, overrides)

    command_line[0] = TerminatedDvc()
    handler = signal.getsignal(signal.SIGTERM)
    assert tune.main(["logreg", "--trials", "3"]) == 130
    assert capsys.readouterr().err.startswith("mnist-tune: interrupted: 1 of 3 trials of study logreg are done")
    assert signal.getsignal(signal.SIGTERM) is handler


def test_the_command_reports_a_failed_trial(command_line, capsys):
    command_line[0] = FakeDvc(fail_at=1)
    assert tune.main(["logreg"]) == 1
    assert capsys.readouterr().err.startswith("mnist-tune: trial tune-logreg-01 (train_logreg.C=30.0) failed")


def test_the_command_refuses_an_unknown_study(command_line, capsys):
    with pytest.raises(SystemExit) as exit_:
        tune.main(["svm"])
    assert exit_.value.code == 2
    assert "no study 'svm' in tune.yaml; its studies are logreg, cnn" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ the table


def trial(number: int, value: float, c: float = 0.1) -> Trial:
    return Trial(number=number, name=f"tune-logreg-{number:02d}", rev="r", params={"train_logreg.C": c}, value=value)


def test_trials_rank_best_first_and_the_earlier_of_equals_first():
    trials = [trial(1, 0.90), trial(2, 0.95), trial(3, 0.95), trial(4, 0.80)]
    assert [t.number for t in ranked(trials, "maximize")] == [2, 3, 1, 4]
    assert [t.number for t in ranked(trials, "minimize")] == [4, 1, 2, 3]


def test_the_table_is_aligned_and_names_the_best():
    trials = [trial(1, 0.9, c=0.01), trial(2, 0.925, c=0.0012345678), trial(10, 0.5, c=0.5)]
    table = format_table(study(), trials)
    assert table.splitlines() == [
        "rank    experiment      train_logreg.C    logreg.val_accuracy",
        "1       tune-logreg-02  0.001235          0.9250",
        "2       tune-logreg-01  0.01              0.9000",
        "3       tune-logreg-10  0.5               0.5000",
    ]
    summary = format_summary(study(), trials)
    assert "3 trials of study logreg, by logreg.val_accuracy (validation digits), best first:" in summary
    assert "Best: tune-logreg-02 (logreg.val_accuracy 0.9250)." in summary
    assert format_summary(study(), []) == "No trials of study logreg on this commit yet."


# ---------------------------------------------------------------------------------------- a real search


def run_tune(project, *args: str) -> subprocess.CompletedProcess:
    return project.run(sys.executable, "-m", "mnist_pipeline.tools.tune", "logreg", *args)


def tune_experiments(project) -> dict[str, dict]:
    """The study's DVC experiments of the commit: name -> rev, C and validation accuracy."""
    (baseline,) = json.loads(project.dvc("exp", "show", "--json").stdout)[1:]
    found = {}
    for entry in baseline.get("experiments") or []:
        if (entry.get("name") or "").startswith("tune-logreg-"):
            data = entry["revs"][0]["data"]
            found[entry["name"]] = {
                "rev": entry["revs"][0]["rev"],
                "C": data["params"]["params.yaml"]["data"]["train_logreg"]["C"],
                "val_accuracy": data["metrics"]["reports/metrics.json"]["data"]["logreg"]["val_accuracy"],
            }
    return found


def test_a_search_interrupted_and_resumed_makes_each_trial_a_dvc_experiment_ranked_by_validation_accuracy(project):
    # Ctrl-C at a terminal: SIGINT to the whole process group, once the last trial's training is done.
    env = {**project.env, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mnist_pipeline.tools.tune", "logreg", "--trials", "3"],
                               cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, preexec_fn=as_in_a_terminal)
    watchdog = threading.Timer(300, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    lines, proposed = [], None
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("=== trial 3 of 3"):
                proposed = re.search(r"train_logreg\.C=(\S+)", line).group(1)
            if proposed and line.startswith("Running stage 'evaluate'"):
                # Into evaluate's start (its imports alone take longer): later, the trial could finish and be
                # saved as an experiment before the interrupt reaches it (seen once, on a loaded 2-core machine).
                time.sleep(0.2)
                os.killpg(process.pid, signal.SIGINT)
                break
        lines += process.stdout.readlines()
        status = process.wait()
    finally:
        watchdog.cancel()
    output = "".join(lines)
    assert status == 130, output
    assert "mnist_pipeline/tools/tune/" not in output  # no traceback of the search's own
    # The first trial is the workspace's params, whose results the commit already holds: nothing reruns.
    first = output[output.index("=== trial 1 of 3"):output.index("=== trial 2 of 3")]
    assert "Running stage" not in first, first
    before = tune_experiments(project)
    # The search reports the trials DVC kept: the two before the interrupt, or all three where the interrupt
    # reached DVC only after it had saved the third (the test read evaluate's start late, waiting for a core).
    assert output.rstrip().splitlines()[-1] == (
        f"mnist-tune: interrupted: {len(before)} of 3 trials of study logreg are done and kept as DVC experiments; "
        f"run the same command again to resume.")
    assert len(before) in (2, 3), before
    interrupted = len(before) == 2
    assert sorted(before) == ["tune-logreg-01", "tune-logreg-02", "tune-logreg-03"][:len(before)]
    assert interrupted or before["tune-logreg-03"]["C"] == float(proposed)
    assert not project.git("status", "--porcelain").stdout.strip()

    output = run_tune(project, "--trials", "3").stdout
    assert f"{len(before)} trial(s) of study logreg already done on this commit" in output
    trials_run = re.findall(r"^=== trial (\d) of 3: (\S+)", output, re.M)
    if interrupted:
        assert trials_run == [("3", "tune-logreg-03")]
        # The same proposal as before the interrupt, whose training the run-cache kept.
        assert f"train_logreg.C={proposed}" in output
        assert "Stage 'train_logreg' is cached - skipping run" in output
    else:
        assert trials_run == []  # the budget is spent
    experiments = tune_experiments(project)
    assert sorted(experiments) == ["tune-logreg-01", "tune-logreg-02", "tune-logreg-03"]
    assert {name: experiments[name] for name in before} == before
    assert experiments["tune-logreg-01"]["C"] == project.params()["train_logreg"]["C"]
    assert len({row["C"] for row in experiments.values()}) == 3
    # Well above chance over the whole space: 0.82 at its lowest C (0.1), 0.94 at the committed one.
    assert all(0.75 <= row["val_accuracy"] <= 1 for row in experiments.values())
    # The table: every trial, best validation accuracy first, as DVC recorded them.
    rows = re.findall(r"^(\d)\s+(tune-logreg-\d\d)\s+\S+\s+(0\.\d{4})$", output, re.M)
    assert [rank for rank, _, _ in rows] == ["1", "2", "3"]
    expected = sorted(experiments, key=lambda name: (-experiments[name]["val_accuracy"], name))
    assert [name for _, name, _ in rows] == expected
    best = expected[0]
    assert experiments[best]["val_accuracy"] == max(row["val_accuracy"] for row in experiments.values())
    assert f"Best: {best} (logreg.val_accuracy {experiments[best]['val_accuracy']:.4f})." in output
    assert f"dvc exp apply {best}" in output
    hint = re.search(r"^  dvc (exp show [^#]+?)\s+#", output, re.M).group(1)
    assert best in project.dvc(*hint.split(), "--csv").stdout  # the hint is a command that works
    assert not project.git("status", "--porcelain").stdout.strip()  # --temp: the workspace is untouched


@pytest.mark.parametrize("text", ["train_logreg: [\n", "- a list\n"])
def test_an_unreadable_params_yaml_is_a_message(tmp_path, text):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(TuneConfigError, match=r"params\.yaml"):
        tune.read_params(tmp_path / "params.yaml")
