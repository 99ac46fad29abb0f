"""A study's eval_tasks: lm-eval on each finished experiment (a tiny Llama, a local task), not redone
on a rerun, tabled by `balora compare`; the dry run refuses a bad eval setting in one line."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from balora.cli import main

STUDY = """\
    name: evals
    results_dir: {results}
    seeds: [1]
    datasets:
      sums: {{dataset: jsonl, train_file: {data}, prompt_column: question, response_column: answer,
              model_name_or_path: {model}}}
    defaults: {{epochs: 1, batch_size: 8, max_length: 48, precision: fp32}}
    eval_tasks: [tiny_sums]
    eval_limit: 6
    eval_include_path: {tasks}
    phases:
      main:
        methods:
          lora: {{lora_r: 2, learning_rates: [5.0e-3]}}
"""


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A tiny Llama, sums to train on, and a local lm-eval task over them."""
    from test_harness import TASK_YAML, chat_llama_and_sums

    root = tmp_path_factory.mktemp("evaltasks")
    model, data = chat_llama_and_sums(root)
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "tiny_sums.yaml").write_text(TASK_YAML.format(data=data))
    labelled = root / "labelled.csv"  # classification data, which lm-eval does not score
    labelled.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(40)))
    return {"model": model, "data": data, "tasks": tasks, "labelled": labelled}


def write_study(folder, parts, edit=lambda text: text):
    study = folder / "evals.yaml"
    study.write_text(edit(textwrap.dedent(STUDY).format(results=folder / "results", **parts)))
    return study


def test_a_study_evaluates_each_experiment_once_and_compare_tables_it(tmp_path, parts, capsys, monkeypatch):
    pytest.importorskip("lm_eval")
    study = write_study(tmp_path, parts)
    assert main(["study", str(study), "--dry_run"]) == 0
    assert "evaluated by lm-eval on tiny_sums" in capsys.readouterr().out

    assert main(["study", str(study)]) == 0
    experiment = tmp_path / "results" / "sums-main-lora-lr0.005-s1"
    saved = json.loads((experiment / "eval_tiny_sums.json").read_text())
    assert saved["limit"] == 6 and saved["tuned"]["perplexity"] != saved["untuned"]["perplexity"]
    assert "tiny_sums: perplexity tuned" in capsys.readouterr().out

    import balora.harness

    def evaluated_again(*args, **kwargs):
        raise AssertionError("the rerun evaluated an experiment that has its eval file")

    monkeypatch.setattr(balora.harness, "run_eval", evaluated_again)
    assert main(["study", str(study)]) == 0
    assert "already finished" in capsys.readouterr().out

    assert main(["compare", "--study", str(study), "--output_dir", str(tmp_path / "analysis")]) == 0
    table = pd.read_csv(tmp_path / "analysis" / "comparison_table.csv")
    assert table.loc[0, "eval:tiny_sums:acc_mean"] == pytest.approx(saved["tuned"]["acc"])
    assert table.loc[0, "eval:tiny_sums:perplexity_n"] == 1
    markdown = (tmp_path / "analysis" / "comparison_table.md").read_text()
    header = markdown.splitlines()[0]
    assert "| tiny_sums perplexity |" in header and "| tiny_sums acc |" in header


def test_a_failed_eval_keeps_the_experiment_and_is_retried(tmp_path, parts, capsys, monkeypatch):
    pytest.importorskip("lm_eval")
    import balora.harness
    from balora.errors import UserError

    real = balora.harness.run_eval

    def offline(*args, **kwargs):
        raise UserError("lm-eval cannot load the data")

    monkeypatch.setattr(balora.harness, "run_eval", offline)
    study = write_study(tmp_path, parts, lambda text: text.replace("eval_limit: 6", "eval_limit: 2"))
    assert main(["study", str(study)]) == 0
    assert "done in" in (out := capsys.readouterr().out) and "eval_tasks: lm-eval cannot load the data" in out
    experiment = tmp_path / "results" / "sums-main-lora-lr0.005-s1"
    assert (experiment / "results_final.json").exists() and not (experiment / "eval_tiny_sums.json").exists()
    monkeypatch.setattr(balora.harness, "run_eval", real)
    assert main(["study", str(study)]) == 0
    assert json.loads((experiment / "eval_tiny_sums.json").read_text())["limit"] == 2


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("eval_tasks: [tiny_sums]", "eval_tasks: ['a,b']"), "line 8: eval_tasks names one lm-eval task"),
    (lambda t: t.replace("eval_tasks: [tiny_sums]", "eval_tasks: [3]"), "line 8: eval_tasks must be strs"),
    (lambda t: t.replace("eval_limit: 6", "eval_limit: 0"), "line 9: eval_limit is a whole number"),
    (lambda t: t.replace("eval_include_path: ", "eval_include_path: /no/such"), "line 10: eval_include_path"),
    (lambda t: t.replace("main:\n", "main:\n    eval_tasks: [no_such_task]\n"),
     "line 13: lm-eval knows no task no_such_task"),
    (lambda t: t.replace("jsonl, train_file: ", "csv, train_file: ").replace("sums.jsonl", "labelled.csv").replace(
        "prompt_column: question, response_column: answer", "text_column: text, label_column: label"), "line 8: eval_tasks runs lm-eval on language models"),
])
def test_a_bad_eval_setting_is_one_line_in_the_dry_run(tmp_path, parts, capsys, edit, message):
    pytest.importorskip("lm_eval")
    study = write_study(tmp_path, parts, edit)
    assert main(["study", str(study), "--dry_run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "results").exists()
