"""Running a study on the tiny model: learning-rate selection on validation, resuming after an
interruption without redoing finished experiments, and failures recorded while the rest goes on."""

from __future__ import annotations

import textwrap

import pytest

import balora.run_inputs
import balora.train
from balora.cli import main
from balora.errors import TrainingFailure
from balora.results import read_json
from balora.study import plan_from_file
from balora.study.plan import StudyOptions
from balora.study.runner import run_study
from helpers import watch_train_calls

STUDY = """\
    name: tiny_run
    seeds: [1, 2]
    grow_grids: false  # a two-rate grid always grows: tests/study/test_grids.py is about that
    defaults: {{model_name_or_path: {model}, data_dir: {data}, epochs: 2, batch_size: 8}}
    phases:
      budgets:
        budgets: [{{lora_rank: 2}}]
        methods:
          lora: {{learning_rates: [5.0e-3, 2.0e-2]}}
          ba_lora: {{learning_rates: [1.0e-2], ba_lora_gradient_samples: 16}}
"""


@pytest.fixture
def study_plan(tmp_path, tiny_model_dir, tiny_data_dir):
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(STUDY).format(model=tiny_model_dir, data=tiny_data_dir))
    return plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / "results")))


def test_interrupted_study_resumes_without_redoing_finished_experiments(study_plan, monkeypatch):
    interrupted = "sst2-budgets-ba_lora-b512-lr0.01-s1"
    train_calls = watch_train_calls(monkeypatch, lambda config, _: config.experiment_name == interrupted
                                    and not config.resume, 1.2)  # after its first epoch checkpoint
    with pytest.raises(KeyboardInterrupt):
        run_study(study_plan, print_line=lambda line: None)
    assert train_calls[3] == (interrupted, False)
    lora = [name for name, _ in train_calls[:3]]
    state = read_json(f"{study_plan.results_dir}/study.json")
    assert [state["experiments"][n]["status"] for n in lora] == ["completed"] * 3
    selected = state["groups"]["sst2-budgets-lora-b512"]["selected_learning_rate"]
    scores = state["groups"]["sst2-budgets-lora-b512"]["validation_by_learning_rate"]
    assert scores[f"{selected:g}"] == max(scores.values())  # chosen on validation
    assert lora[2] == f"sst2-budgets-lora-b512-lr{selected:g}-s2"
    assert read_json(f"{study_plan.results_dir}/{interrupted}/status.json")["status"] == "interrupted"
    assert state["experiments"][interrupted]["status"] == "interrupted"

    train_calls.clear()  # the resumed run is not interrupted again: only a fresh start of it is
    outcomes = run_study(study_plan, print_line=lambda line: None)
    assert train_calls == [(interrupted, True), ("sst2-budgets-ba_lora-b512-lr0.01-s2", False)]
    assert [o.status for o in outcomes] == ["completed"] * 5
    assert [o.ran_now for o in outcomes] == [False, False, False, True, True]


def test_a_failure_is_recorded_and_the_rest_goes_on(study_plan, monkeypatch, tmp_path, capsys):
    original = balora.train.train

    def failing(config, options, console=None, **kwargs):
        if config.experiment_name.startswith("sst2-budgets-lora-b512-lr0.005"):
            raise TrainingFailure("non-finite loss (nan) at step 3")
        return original(config, options, console, **kwargs)

    monkeypatch.setattr(balora.train, "train", failing)
    outcomes = run_study(study_plan, print_line=lambda line: None)
    assert [o.status for o in outcomes] == ["failed", "completed", "completed", "completed", "completed"]
    state = read_json(f"{study_plan.results_dir}/study.json")
    assert state["experiments"]["sst2-budgets-lora-b512-lr0.005-s1"]["error"] == "non-finite loss (nan) at step 3"
    assert state["groups"]["sst2-budgets-lora-b512"]["selected_learning_rate"] == 0.02  # the one that finished

    # Through the CLI, the rerun finds everything finished but the failure, and exits with 1.
    code = main(["study", study_plan.study.source.path, "--results_dir", study_plan.results_dir])
    out, err = capsys.readouterr()
    assert code == 1 and "1 experiment(s) did not finish" in err and "0 run now, 4 already finished" in out


def test_dry_run_lists_experiments_with_counts(study_plan, capsys):
    code = main(["study", study_plan.study.source.path, "--dry_run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 configurations, 5 experiments" in out
    assert "sst2-budgets-lora-b512-lr0.005-s1" in out and "sst2-budgets-lora-b512-lr<selected>-s{2}" in out
    assert "sst2-budgets-ba_lora-b512-lr0.01-s2" in out
    assert "budgets      sst2       ba_lora                      full       512         512         512" in out


def test_cli_bad_study_is_one_line_and_trains_nothing(tmp_path, capsys, tiny_model_dir):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ndefaults: {{model_name_or_path: {tiny_model_dir}}}\nphases:\n  p:\n"
                    "    methods:\n      lora: {peft_method: lorax}\n")
    code = main(["study", str(path), "--results_dir", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "bad.yaml line 6: unknown method 'lorax'" in err
    assert not (tmp_path / "results").exists()


def test_an_experiment_another_process_runs_is_left_to_it_and_picked_up_later(study_plan, capsys):
    """Two study processes on one results folder share the work: what one runs, the other skips,
    and a learning rate is selected only once every rate of the search has finished."""
    from balora.experiment_lock import lock_file
    from test_experiment_lock import hold_lock_in_another_process

    running_elsewhere = "sst2-budgets-lora-b512-lr0.02-s1"
    holder = hold_lock_in_another_process(lock_file(study_plan.results_dir, running_elsewhere))
    try:
        outcomes = run_study(study_plan, print_line=lambda line: None)
    finally:
        holder.kill()
        holder.wait()
    by_name = {o.name: o.status for o in outcomes}
    assert by_name == {"sst2-budgets-lora-b512-lr0.005-s1": "completed", running_elsewhere: "busy",
                       "sst2-budgets-ba_lora-b512-lr0.01-s1": "completed",
                       "sst2-budgets-ba_lora-b512-lr0.01-s2": "completed"}
    state = read_json(f"{study_plan.results_dir}/study.json")
    assert running_elsewhere not in state["experiments"] and "sst2-budgets-lora-b512" not in state["groups"]

    outcomes = run_study(study_plan, print_line=lambda line: None)  # the other process is gone: finish it
    assert [o.status for o in outcomes] == ["completed"] * 5
    assert read_json(f"{study_plan.results_dir}/study.json")["groups"]["sst2-budgets-lora-b512"]["selected_learning_rate"]


def test_study_state_of_two_processes_is_merged_not_overwritten(tmp_path):
    from balora.study.runner import StudyState

    path = tmp_path / "study.json"
    first, second = StudyState.load(path, "s.yaml"), StudyState.load(path, "s.yaml")
    first.record("experiments", "a", {"status": "completed"})
    second.record("experiments", "b", {"status": "failed"})
    first.record("groups", "g", {"selected_learning_rate": 0.1})
    assert read_json(path)["experiments"] == {"a": {"status": "completed"}, "b": {"status": "failed"}}
    assert read_json(path)["groups"] == {"g": {"selected_learning_rate": 0.1}}


def test_a_rerun_reads_back_experiments_whose_model_and_rate_were_defaults(tmp_path, tiny_model_dir,
                                                                          tiny_data_dir, monkeypatch):
    # No model and no rate in the file: `balora train` records the packaged model and the method's
    # rate; the rerun must compare like with like, not None with what was recorded.
    monkeypatch.setattr(balora.run_inputs, "packaged_default", lambda text_to_text: tiny_model_dir)
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: defaults
        defaults: {{data_dir: {tiny_data_dir}, epochs: 1, batch_size: 8}}
        phases:
          plain:
            methods: {{lora: {{}}, adalora: {{adalora_init_r: 3, adalora_target_r: 2}}}}
        """))
    options = StudyOptions(results_dir=str(tmp_path / "results"))
    first = run_study(plan_from_file(str(path), options, count=False), print_line=lambda line: None)
    assert [(o.status, o.ran_now) for o in first] == [("completed", True)] * 2
    again = run_study(plan_from_file(str(path), options, count=False), print_line=lambda line: None)
    assert [(o.status, o.ran_now) for o in again] == [("completed", False)] * 2
    rates = [read_json(f"{tmp_path}/results/{o.name}/config.json")["learning_rate"] for o in first]
    assert rates == [5e-4, 5e-3]


def test_a_searched_perplexity_is_recorded_as_measured_with_its_direction():
    # study.json recorded the signed selection scores: perplexities appeared negated
    from balora.record import ResultsRecord
    from balora.study.runner import search_record

    def run(perplexity):
        return ResultsRecord(experiment_name="x", method="lora", dataset="alpaca", seed=1, headline_metric="perplexity",
                             metrics={"validation": {"perplexity": perplexity}, "test": {}}, parameters=None, config={})

    entry = search_record({1e-3: run(7.5), 2e-3: run(6.9), 4e-3: None}, selected=2e-3)
    assert entry == {"metric": "perplexity", "higher_is_better": False,
                     "validation_by_learning_rate": {"0.001": 7.5, "0.002": 6.9, "0.004": None},
                     "selected_learning_rate": 2e-3, "grid": [1e-3, 2e-3, 4e-3], "grown": {}, "edge_warning": None}
