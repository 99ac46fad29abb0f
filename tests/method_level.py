"""Running a method at the method level on tiny random classifiers (BERT, Llama, GPT-2): no files, no Trainer."""

from __future__ import annotations

import torch

from balora.config import TrainConfig
from balora.methods import METHODS, MethodContext, build_options
from tiny_decoders import tiny_decoder_config

# Small settings where a method's defaults would make the tiny runs slow; the rest run at defaults.
FAST = {
    "partial": {"freeze_layers": 1}, "lora": {"lora_r": 2}, "dora": {"lora_r": 2}, "pissa": {"lora_r": 2},
    "lora_ga": {"lora_r": 2, "lora_ga_gradient_samples": 8}, "eva": {"lora_r": 2, "eva_samples": 16},
    "ba_lora": {"ba_lora_base_rank": 2, "ba_lora_gradient_samples": 8, "ba_lora_use_warmstart": True},
    "adalora": {"adalora_init_r": 3, "adalora_target_r": 2},
    "layerwise": {"rank_strategy": "linear_decay", "rank_max": 4, "rank_min": 2, "lora_r": 2},
    "plateau_lora": {"plateau_initial_rank": 2, "plateau_max_rank": 4},
    # PEFT-config presets: a small value of each one's knob (the tiny models are 32 wide)
    "peft": {"peft_config": {"peft_type": "VERA", "r": 4}},
    "olora": {"peft_config": {"r": 2}}, "vera": {"peft_config": {"r": 4}}, "loha": {"peft_config": {"r": 2}},
    "lokr": {"peft_config": {"r": 2}}, "oft": {"peft_config": {"oft_block_size": 4}},
    "boft": {"peft_config": {"boft_block_size": 4}}, "miss": {"peft_config": {"r": 4}},
    "randlora": {"peft_config": {"r": 4}}, "shira": {"peft_config": {"r": 2}},
    "qdora": {"peft_config": {"r": 2}, "quantization": "nf4"},  # DoRA itself: the tiny model is built, not loaded 4-bit
}
VOCAB, LENGTH, EXAMPLES = 300, 8, 16


def tiny_classifier(arch: str):
    from transformers import AutoModelForSequenceClassification

    from conftest import tiny_bert

    torch.manual_seed(0)
    if arch == "bert":
        return tiny_bert(), ["classifier"]
    config = tiny_decoder_config(arch, VOCAB)
    config.num_labels = 2
    model = AutoModelForSequenceClassification.from_config(config)
    model.config.pad_token_id = model.config.eos_token_id
    return model, ["score"]


def tiny_dataset():
    from datasets import Dataset

    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1, VOCAB, (EXAMPLES, LENGTH), generator=generator)  # 0 is EOS = pad
    return Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist(),
                              "labels": [i % 2 for i in range(EXAMPLES)]})


def collate(rows: list[dict]) -> dict:
    return {key: torch.tensor([row[key] for row in rows]) for key in rows[0]}


def context(method: str, head: list[str], dataset, dry_run: bool, fast: bool = True, **extra) -> MethodContext:
    """``fast``: start from FAST's settings (else from the method's defaults); ``extra`` on top."""
    config = TrainConfig(experiment_name="matrix", peft_method=method, batch_size=4, epochs=3)
    options = build_options(**{**(FAST.get(method, {}) if fast else {}), **extra})
    return MethodContext(config=config, options={cls: options[cls] for cls in METHODS[method].option_classes},
                         head_modules=head, train_dataset=None if dry_run else dataset, collator=collate,
                         say=lambda line: None, validation_dataset=dataset, dry_run=dry_run)
