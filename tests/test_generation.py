"""Batched greedy generation: left padding gives every prompt the output it gets alone."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from balora.generation import generate_greedy, left_padded


def test_left_padded_puts_padding_before_the_prompt():
    batch = left_padded([[5, 6, 7], [9]], pad_token_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]


def test_a_batch_generates_what_each_prompt_generates_alone(tiny_decoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_decoder_dir)
    tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_decoder_dir).train()
    prompts = [tokenizer(text)["input_ids"] for text in ("the movie", "this film was good and the summary", "hello")]
    cpu = torch.device("cpu")
    batched = generate_greedy(model, tokenizer, prompts, max_new_tokens=8, batch_size=3, device=cpu)
    alone = [generate_greedy(model, tokenizer, [p], max_new_tokens=8, batch_size=1, device=cpu)[0] for p in prompts]
    assert batched == alone
    assert any(batched)  # a random model still writes something
    assert model.training  # the caller's mode is restored (generation itself ran without dropout)


def test_generation_reports_progress_where_no_bar_is_drawn(tiny_decoder_dir, monkeypatch):
    import sys

    from balora.generation import progress_marks

    assert progress_marks(20) == {2, 4, 6, 8, 10, 12, 14, 16, 18} and progress_marks(1) == set()
    tokenizer = AutoTokenizer.from_pretrained(tiny_decoder_dir)
    tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_decoder_dir)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a log file
    reported = []
    prompts = [tokenizer("the movie")["input_ids"]] * 10
    generate_greedy(model, tokenizer, prompts, max_new_tokens=2, batch_size=1, device=torch.device("cpu"),
                    report=lambda done, total: reported.append((done, total)))
    assert reported == [(k, 10) for k in range(1, 10)]
