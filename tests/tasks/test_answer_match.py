"""answer_match: final answers extracted from generations, exact match against the references' answers."""

import json
import random

import pytest

from balora.metric_registry import metric, table_metrics_of
from balora.config import TrainConfig
from balora.errors import ConfigError, UserError
from balora.tasks.answers import answer_match_metrics, compile_answer_pattern, extract_answer
from helpers import run_train

DEFAULT = compile_answer_pattern(None)


def arithmetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Sums written as GSM8K writes its solutions: the working, then "#### answer"."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append({"question": f"what is {a} + {b}", "answer": f"{a} + {b} = {a + b}\n#### {a + b}"})
    return rows


@pytest.fixture
def arithmetic_file(tmp_path):
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in arithmetic_rows(60)))
    return path


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory) -> str:
    from tasks.conftest import CHAT_TEMPLATE
    from tiny_decoders import save_tiny_decoder
    from transformers import AutoTokenizer

    path = save_tiny_decoder(tmp_path_factory.mktemp("tiny_llama") / "model", "llama")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    return path


def test_the_default_pattern_takes_the_number_after_the_last_marker():
    assert extract_answer("3 + 4 = 7\n#### 7", DEFAULT) == "7"
    assert extract_answer("#### 5 no wait\n#### -12", DEFAULT) == "-12"
    assert extract_answer("#### 1,200", DEFAULT) == extract_answer("#### $1200.0", DEFAULT) == "1200"
    assert extract_answer("#### 2.50", DEFAULT) == "2.5"
    assert extract_answer("the answer is 7", DEFAULT) is None


def test_a_custom_pattern_uses_its_first_group_or_the_whole_match():
    assert extract_answer("Answer: Paris. Answer: Rome", compile_answer_pattern(r"Answer: (\w+)")) == "rome"
    assert extract_answer("x 12 y 34", compile_answer_pattern(r"\d+")) == "34"


def test_exact_match_counts_a_missing_answer_as_wrong():
    metrics, rows = answer_match_metrics(["so #### 7", "it is 8", "#### 9"], ["#### 7", "#### 8", "#### 10"], DEFAULT)
    assert metrics["exact_match"] == pytest.approx(1 / 3)
    assert metrics["exact_match_flexible"] == pytest.approx(2 / 3)  # "it is 8": its last number is right
    assert metrics["answered"] == pytest.approx(2 / 3)
    assert [r["extracted_answer"] for r in rows] == ["7", None, "9"]
    assert [r["reference_answer"] for r in rows] == ["7", "8", "10"]


def test_exact_match_is_a_higher_is_better_table_metric():
    assert metric("exact_match").higher_is_better and metric("exact_match").best([0.2, 0.5]) == 0.5
    assert table_metrics_of({"perplexity": 3.0, "exact_match": 0.5}) == ["perplexity", "exact_match"]


def test_a_pattern_that_does_not_compile_names_the_flag():
    with pytest.raises(ConfigError, match="--answer_pattern: is not a valid regular expression"):
        TrainConfig(experiment_name="x", answer_pattern="(unclosed")


def run_answer_match(tmp_path, data_file, model_dir, **settings):
    return run_train(tmp_path, tmp_path, model_dir, dataset="jsonl", train_file=str(data_file),
                     prompt_column="question", response_column="answer", task="answer_match", max_length=48,
                     max_new_tokens=8, epochs=1, **settings)


def test_answer_match_trains_and_records_exact_match_and_the_generations(tmp_path, arithmetic_file, tiny_llama_dir):
    results = run_answer_match(tmp_path, arithmetic_file, tiny_llama_dir)
    assert results.task == "answer_match" and results.headline_metric == "exact_match"
    validation, test = results.metrics["validation"], results.metrics["test"]
    assert 0 <= validation["exact_match"] <= 1 and "perplexity" in validation  # a study selects by the first
    assert {"exact_match", "exact_match_flexible", "answered", "perplexity"} <= set(test)
    assert "exact_match" in results.metrics["untuned"]["test"]
    rows = [json.loads(line) for line in (tmp_path / "tiny" / "test_generations.jsonl").read_text().splitlines()]
    assert len(rows) == results.data.sizes.test
    assert {"prompt", "generation", "extracted_answer", "reference", "reference_answer", "correct"} <= set(rows[0])
    assert "what is" in rows[0]["prompt"] and rows[0]["reference"].endswith(f"#### {rows[0]['reference_answer']}")
    # the reported figure is that of the saved generations
    rescored, _ = answer_match_metrics([r["generation"] for r in rows], [r["reference"] for r in rows], DEFAULT)
    assert test["exact_match"] == pytest.approx(rescored["exact_match"])


def test_a_model_that_writes_the_reference_scores_one(tmp_path, arithmetic_file, tiny_llama_dir, monkeypatch):
    import balora.generation

    def perfect(model, tokenizer, prompts, *args, **kwargs):  # the sum the prompt asks for, GSM8K-style
        texts = tokenizer.batch_decode(prompts, skip_special_tokens=True)
        return [f"#### {sum(int(x) for x in t.split('what is ')[1].split(chr(10))[0].split(' + '))}" for t in texts]

    monkeypatch.setattr(balora.generation, "generate_greedy", perfect)
    results = run_answer_match(tmp_path, arithmetic_file, tiny_llama_dir, untuned_baseline=False)
    assert results.metrics["test"]["exact_match"] == 1.0 == results.metrics["validation"]["exact_match"]


def test_references_without_an_answer_are_refused_before_anything_is_written(tmp_path, arithmetic_file,
                                                                           tiny_llama_dir):
    with pytest.raises(UserError, match=r"hold no answer that --answer_pattern Answer: \(\\d\) finds"):
        run_answer_match(tmp_path, arithmetic_file, tiny_llama_dir, answer_pattern=r"Answer: (\d)")
    assert not (tmp_path / "tiny").exists()
