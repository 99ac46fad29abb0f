"""Prompt / response pairs as token sequences whose labels mark the tokens that carry loss."""

from __future__ import annotations

from dataclasses import dataclass

import datasets
import pandas as pd
import torch

from balora.errors import UserError
from balora.tasks.language_metrics import IGNORE_INDEX
from balora.tasks.prompts import instruction_and_context, prompt_text, uses_chat_template


@dataclass
class EncodingReport:
    truncated: int = 0  # responses cut at --max_length
    dropped: int = 0  # prompts that leave no room for a response token

    def line(self, split: str, max_length: int) -> str | None:
        if not (self.truncated or self.dropped):
            return None
        return (f"{split}: {self.truncated} responses truncated at --max_length {max_length}, {self.dropped} examples "
                "dropped (the prompt alone fills --max_length)")


def encode_pairs(frame: pd.DataFrame, spec, tokenizer, max_length: int, train_on_prompt: bool
                 ) -> tuple[datasets.Dataset, EncodingReport]:
    """input_ids = prompt + response + EOS, cut at ``max_length``; labels copy the response (and
    EOS) and are IGNORE_INDEX on the prompt, unless ``train_on_prompt``. ``prompt_length`` and the
    reference text are kept for generation."""
    prompts = [prompt_text(tokenizer, *instruction_and_context(spec, p, c))
               for p, c in zip(frame["prompt"], frame["context"])]
    prompt_ids = tokenizer(prompts, add_special_tokens=not uses_chat_template(tokenizer))["input_ids"]
    response_ids = tokenizer(list(frame["response"]), add_special_tokens=False)["input_ids"]
    report, rows = EncodingReport(), {"input_ids": [], "attention_mask": [], "labels": [], "prompt_length": [],
                                      "reference": []}
    for prompt, response, reference in zip(prompt_ids, response_ids, frame["response"]):
        if len(prompt) >= max_length:
            report.dropped += 1
            continue
        answer = [*response, tokenizer.eos_token_id]
        if len(prompt) + len(answer) > max_length:
            report.truncated += 1
            answer = answer[:max_length - len(prompt)]
        ids = [*prompt, *answer]
        rows["input_ids"].append(ids)
        rows["attention_mask"].append([1] * len(ids))
        rows["labels"].append(list(ids) if train_on_prompt else [IGNORE_INDEX] * len(prompt) + answer)
        rows["prompt_length"].append(len(prompt))
        rows["reference"].append(reference)
    return datasets.Dataset.from_dict(rows), report


def encode_splits(splits: dict[str, pd.DataFrame], spec, tokenizer, max_length: int, train_on_prompt: bool,
                  say) -> dict[str, datasets.Dataset]:
    encoded = {}
    for split, frame in splits.items():
        encoded[split], report = encode_pairs(frame, spec, tokenizer, max_length, train_on_prompt)
        if (line := report.line(split, max_length)) is not None:
            say(line)
        if len(encoded[split]) == 0:
            raise UserError(f"every {split} example of {spec.name} has a prompt of --max_length {max_length} tokens "
                            "or more; raise --max_length")
    return encoded


class CausalLMCollator:
    """Pads input_ids with the pad token, attention_mask with 0 and labels with IGNORE_INDEX, on
    the right (training, teacher-forced evaluation); extra columns are left out."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(f["input_ids"]) for f in features)

        def padded(key, value):
            return torch.tensor([list(f[key]) + [value] * (longest - len(f[key])) for f in features])

        return {"input_ids": padded("input_ids", self.pad_token_id), "attention_mask": padded("attention_mask", 0),
                "labels": padded("labels", IGNORE_INDEX)}
