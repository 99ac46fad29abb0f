"""`balora eval`: lm-evaluation-harness on an experiment's adapter and on its untuned base, offline,
on a local task; an adapter that changes nothing is refused; without lm_eval, one line."""

import json
import os

import pytest

from balora.errors import TrainingFailure, UserError
from helpers import run_train

TASK_YAML = """task: tiny_sums
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: loglikelihood
doc_to_text: "{{{{question}}}} ="
doc_to_target: " {{{{answer}}}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


def chat_llama_and_sums(root):
    """A tiny Llama with a chat template under ``root``, and 40 sums to train on (its path, the file's)."""
    from tasks.conftest import CHAT_TEMPLATE
    from tasks.test_answer_match import arithmetic_rows
    from tiny_decoders import save_tiny_decoder
    from transformers import AutoTokenizer

    model = save_tiny_decoder(root / "llama", "llama")
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(model)
    data = root / "sums.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in arithmetic_rows(40)))
    return model, data


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A LoRA adapter on a tiny Llama, trained on sums, and a local lm-eval task over the same kind of data."""
    root = tmp_path_factory.mktemp("harness")
    model, data = chat_llama_and_sums(root)
    run_train(root, root, model, dataset="jsonl", train_file=str(data), prompt_column="question",
              response_column="answer", max_length=48, epochs=1, untuned_baseline=False)
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "tiny_sums.yaml").write_text(TASK_YAML.format(data=data))
    return root / "tiny", tasks


def test_eval_scores_the_adapter_and_the_base_on_a_local_task(experiment):
    pytest.importorskip("lm_eval")
    from balora.harness import run_eval

    folder, tasks = experiment
    lines = []
    written = run_eval(str(folder), "tiny_sums", limit=6, batch_size=4, include_path=str(tasks), say=lines.append)
    assert written == [folder / "eval_tiny_sums.json"]
    saved = json.loads(written[0].read_text())
    assert saved["examples"]["effective"] == 6
    assert {"perplexity", "acc", "acc_stderr"} <= set(saved["tuned"]) and set(saved["tuned"]) == set(saved["untuned"])
    assert saved["tuned"]["perplexity"] != saved["untuned"]["perplexity"]  # the adapter was applied
    assert saved["adapter_check"]["max_loglikelihood_difference"] > 0
    assert lines[0].startswith("tiny_sums: perplexity tuned ") and "untuned" in lines[0]


def test_an_adapter_that_changes_nothing_stops_the_command(experiment, monkeypatch):
    pytest.importorskip("lm_eval")
    import balora.harness as harness

    folder, tasks = experiment
    real = harness.load_pair

    def not_applied(record, checkpoint):  # the #511 / #808 failure: the "adapted" model is the base
        pair = real(record, checkpoint)
        base = pair.tuned.get_base_model()
        return harness.ModelPair(pair.tokenizer, base, base)

    monkeypatch.setattr(harness, "load_pair", not_applied)
    (folder / "eval_tiny_sums.json").unlink(missing_ok=True)
    with pytest.raises(TrainingFailure, match="identical log-likelihoods on the first 4 inputs of tiny_sums"):
        harness.run_eval(str(folder), "tiny_sums", limit=6, batch_size=4, include_path=str(tasks), say=print)
    assert not (folder / "eval_tiny_sums.json").exists()


def test_an_unknown_task_is_one_line(experiment):
    pytest.importorskip("lm_eval")
    from balora.harness import run_eval

    folder, tasks = experiment
    with pytest.raises(UserError, match="lm-eval knows no task no_such_task"):
        run_eval(str(folder), "no_such_task", include_path=str(tasks))


def test_without_lm_eval_eval_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    import importlib.util

    from balora.cli import main

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lm_eval" else find_spec(name, *a))
    assert main(["eval", "--experiment", str(tmp_path), "--tasks", "hellaswag"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'balora[eval]'" in err


def test_the_shipped_alpaca_task_scores_per_word_and_per_byte(experiment, tmp_path):
    """configs/lm_eval/alpaca_local.yaml (pointed at a tiny Alpaca-shaped file) reports a perplexity per
    word and bits per byte of the responses, both from one summed log-likelihood, not lm-eval's per-
    response perplexity (about 1e65 on real Alpaca)."""
    pytest.importorskip("lm_eval")
    import math
    import shutil
    from pathlib import Path

    from balora.harness import run_eval

    shipped = Path(__file__).resolve().parents[1] / "configs" / "lm_eval"
    rows = [{"instruction": f"Add {a} and {b}.", "input": "" if a % 2 else f"{a}, {b}", "output": f"The sum is {a + b}."}
            for a, b in [(1, 2), (3, 4), (5, 6), (7, 8)]]
    data = tmp_path / "alpaca.json"
    data.write_text(json.dumps(rows))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    shutil.copy(shipped / "alpaca_local_metrics.py", tasks)
    text = (shipped / "alpaca_local.yaml").read_text()
    (tasks / "alpaca_local.yaml").write_text(text.replace("../shared/data/alpaca_dataset/alpaca_data_cleaned.json", str(data)))

    folder, _ = experiment
    (written,) = run_eval(str(folder), "alpaca_local", limit=4, batch_size=4, include_path=str(tasks), say=print)
    saved = json.loads(written.read_text())
    assert {"word_perplexity", "bits_per_byte", "acc"} <= set(saved["tuned"])
    words = sum(len((" " + row["output"]).split()) for row in rows)
    size = sum(len((" " + row["output"]).encode()) for row in rows)
    for scores in (saved["tuned"], saved["untuned"]):  # one summed log-likelihood behind both figures
        total = math.log(scores["word_perplexity"]) * words
        assert total == pytest.approx(scores["bits_per_byte"] * math.log(2) * size, rel=1e-6)
    assert saved["tuned"]["word_perplexity"] != saved["untuned"]["word_perplexity"]


def test_lm_evals_stderr_bootstrap_runs_in_this_process(monkeypatch):
    """lm-eval forks a multiprocessing pool for its bootstrap unless told not to; forked from a
    process holding torch's threads it can hang as it closes (a CI run hung 30 minutes there)."""
    import multiprocessing

    import lm_eval
    import lm_eval.models.huggingface
    from lm_eval.api.metrics import bootstrap_stderr, median

    from balora import harness

    def no_pool(*args, **kwargs):
        raise AssertionError("lm-eval forked a pool for its bootstrap")

    def scoring(**kwargs):  # what simple_evaluate does for a metric without a closed-form stderr
        return {"stderr": bootstrap_stderr(median, [1.0, 2.0, 3.0, 4.0], iters=kwargs["bootstrap_iters"])}

    monkeypatch.setattr(multiprocessing, "Pool", no_pool)
    monkeypatch.setattr(lm_eval, "simple_evaluate", scoring)
    monkeypatch.setattr(lm_eval.models.huggingface, "HFLM", lambda **kwargs: None)
    monkeypatch.delenv("DISABLE_MULTIPROC", raising=False)
    assert harness.evaluate(None, None, ["t"], None, None, None, 1)["stderr"] > 0
    assert "DISABLE_MULTIPROC" not in os.environ  # the setting ends with the call
