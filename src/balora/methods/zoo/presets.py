"""PEFT methods as presets of the generic `peft` method: one line each, naming the PEFT config the
preset starts from, the field its budget sets (None: the method has no size to set) and its
default learning rate. Light: no PEFT import; the fields are checked against PEFT when a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    fields: dict  # the PEFT config it starts from (peft_type + fields); --peft_config overrides any
    knob: str | None  # the integer field --param_budget sets
    learning_rate: float
    # What the base must be loaded as (a --quantization value among these), e.g. QDoRA's 4-bit base.
    quantization: tuple[str, ...] = ()
    # Why the preset cannot run here, where it needs what balora does not provide yet (one line).
    refusal: str | None = None


PRESETS = (
    Preset("olora", "PEFT OLoRA: LoRA started from a QR decomposition of each weight; saved as plain LoRA",
           {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "init_lora_weights": "olora"},
           "r", 5e-4),
    Preset("corda", "PEFT CorDA: LoRA started from context-oriented decomposition of the weights",
           {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "init_lora_weights": "corda"}, "r", 5e-4,
           refusal="corda needs PEFT's CorDA preprocessing pass over training data (covariance of every target's "
                   "inputs), which balora does not run yet; use --peft_method pissa or eva for a data-driven start"),
    Preset("loftq", "PEFT LoftQ: LoRA started to offset the quantization error of the 4-bit base",
           {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "init_lora_weights": "loftq"}, "r", 5e-4,
           quantization=("nf4",),
           refusal="loftq needs the base's full-precision weights beside its 4-bit copy (PEFT's "
                   "replace_lora_weights_loftq reads them from the checkpoint files), which balora's quantized "
                   "loading does not keep yet; use --peft_method qdora or lora --quantization nf4"),
    Preset("vera", "PEFT VeRA: shared frozen random A and B, trained scaling vectors per layer",
           {"peft_type": "VERA", "r": 256}, "r", 4e-3),
    Preset("ia3", "PEFT IA3: a trained vector rescales each target's activations",
           {"peft_type": "IA3", "feedforward_modules": []}, None, 3e-3),
    Preset("loha", "PEFT LoHa: low-rank Hadamard product of two LoRA-like pairs",
           {"peft_type": "LOHA", "r": 8, "alpha": 16}, "r", 5e-4),
    Preset("lokr", "PEFT LoKr: Kronecker product of a small matrix and a low-rank one",
           {"peft_type": "LOKR", "r": 8, "alpha": 16}, "r", 1e-3),
    Preset("oft", "PEFT OFT: orthogonal block-diagonal rotation of each weight (Cayley)",
           {"peft_type": "OFT", "r": 0, "oft_block_size": 32}, "oft_block_size", 5e-4),
    Preset("boft", "PEFT BOFT: butterfly-factorised orthogonal rotation of each weight",
           {"peft_type": "BOFT", "boft_block_size": 4, "boft_n_butterfly_factor": 1}, "boft_block_size", 5e-4),
    Preset("miss", "PEFT MiSS: a shared shard matrix expanded over each weight",
           {"peft_type": "MISS", "r": 64}, "r", 5e-4),
    Preset("randlora", "PEFT RandLoRA: full-rank updates from frozen random bases and trained scalings",
           {"peft_type": "RANDLORA", "r": 32}, "r", 2e-3),
    Preset("shira", "PEFT SHiRA: a trained sparse subset of each weight (a random mask of r*(m+n) entries)",
           {"peft_type": "SHIRA", "r": 32}, "r", 5e-4),
    Preset("qdora", "PEFT DoRA on a 4-bit base (QDoRA): --quantization nf4 or fp4",
           {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "use_dora": True}, "r", 5e-4,
           quantization=("nf4", "fp4")),
)
PRESETS_BY_NAME = {preset.name: preset for preset in PRESETS}
