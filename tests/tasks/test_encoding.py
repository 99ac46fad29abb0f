"""Prompt / response encoding: which tokens carry loss, truncation, padding."""

import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from balora.data import get_dataset_spec
from balora.modeling import load_tokenizer
from balora.tasks.encoding import CausalLMCollator, encode_pairs
from balora.tasks.language_metrics import IGNORE_INDEX
from balora.tasks.prompts import alpaca_prompt, prompt_text

FRAME = pd.DataFrame({"prompt": ["say movie", "say film please"], "context": ["", "hello"],
                      "response": ["the movie was good", "the film was bad"]})


def encoded(model_dir, max_length=64, train_on_prompt=False, frame=FRAME):
    tokenizer = load_tokenizer(model_dir)
    return encode_pairs(frame, get_dataset_spec("alpaca"), tokenizer, max_length, train_on_prompt), tokenizer


def test_labels_cover_the_response_and_eos_only(tiny_chat_decoder_dir):
    (dataset, report), tokenizer = encoded(tiny_chat_decoder_dir)
    assert report.truncated == report.dropped == 0
    for row, response in zip(dataset, FRAME["response"]):
        n = row["prompt_length"]
        assert row["labels"][:n] == [IGNORE_INDEX] * n
        assert row["labels"][n:] == row["input_ids"][n:]
        assert row["input_ids"][-1] == tokenizer.eos_token_id
        assert tokenizer.decode(row["input_ids"][n:-1]) == response


def test_prompt_tokens_carry_no_loss(tiny_chat_decoder_dir):
    """The model's own loss has zero gradient at every position that predicts a prompt token."""
    (dataset, _), _ = encoded(tiny_chat_decoder_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_chat_decoder_dir)
    row = dataset[1]
    out = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]]))
    grad = torch.autograd.grad(out.loss, out.logits)[0][0].abs().sum(-1)
    n = row["prompt_length"]
    assert torch.all(grad[:n - 1] == 0)  # position t predicts token t+1: these predict prompt tokens
    assert torch.all(grad[n - 1:-1] > 0)  # these predict the response and EOS
    assert grad[-1] == 0  # the last position predicts nothing


def test_train_on_prompt_labels_every_token(tiny_chat_decoder_dir):
    (dataset, _), _ = encoded(tiny_chat_decoder_dir, train_on_prompt=True)
    assert all(row["labels"] == row["input_ids"] for row in dataset)


def test_long_responses_are_truncated_and_long_prompts_dropped(tiny_chat_decoder_dir):
    frame = pd.DataFrame({"prompt": ["say movie", "say " + "movie " * 40], "context": ["", ""],
                          "response": ["the movie was good " * 10, "bad"]})
    (dataset, report), _ = encoded(tiny_chat_decoder_dir, max_length=20, frame=frame)
    assert (report.truncated, report.dropped) == (1, 1)
    assert len(dataset) == 1 and len(dataset[0]["input_ids"]) == 20
    assert "1 responses truncated" in report.line("train", 20) and "1 examples dropped" in report.line("train", 20)


def test_chat_template_when_the_tokenizer_has_one_else_the_alpaca_prompt(tiny_chat_decoder_dir, tiny_decoder_dir):
    chat = AutoTokenizer.from_pretrained(tiny_chat_decoder_dir)
    assert prompt_text(chat, "say movie", "hello") == "Q: say movie\n\nhello\nA:"
    plain = AutoTokenizer.from_pretrained(tiny_decoder_dir)
    assert prompt_text(plain, "say movie", "hello") == alpaca_prompt("say movie", "hello")
    assert "### Input:\nhello" in alpaca_prompt("say movie", "hello")
    assert "### Input" not in alpaca_prompt("say movie", "")


def test_samsum_puts_the_dialogue_under_its_fixed_instruction(tiny_chat_decoder_dir):
    tokenizer = load_tokenizer(tiny_chat_decoder_dir)
    frame = pd.DataFrame({"prompt": ["A: hi\nB: hello"], "context": [""], "response": ["they greet"]})
    dataset, _ = encode_pairs(frame, get_dataset_spec("samsum"), tokenizer, 64, False)
    prompt = tokenizer.decode(dataset[0]["input_ids"][:dataset[0]["prompt_length"]])
    assert prompt.startswith("Q: Summarize this dialogue") and prompt.endswith("A: hi\nB: hello\nA:")


def test_collator_pads_right_with_no_loss_on_padding():
    collate = CausalLMCollator(pad_token_id=0)
    batch = collate([{"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [-100, 6, 7], "reference": "x"},
                     {"input_ids": [5], "attention_mask": [1], "labels": [5]}])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [5, -100, -100]]


@pytest.mark.parametrize("padded", [False, True])
def test_padding_does_not_change_the_loss(tiny_chat_decoder_dir, padded):
    (dataset, _), tokenizer = encoded(tiny_chat_decoder_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_chat_decoder_dir).eval()
    alone = CausalLMCollator(tokenizer.pad_token_id)([dataset[0]])
    batch = CausalLMCollator(tokenizer.pad_token_id)([dataset[0], dataset[1]] if padded else [dataset[0]])
    with torch.no_grad():
        first = model(**{k: v[:1] for k, v in batch.items()}).loss
        reference = model(**alone).loss
    torch.testing.assert_close(first, reference)
