"""Quantized base models (QLoRA-style): the frozen linear layers in 4-bit or 8-bit through bitsandbytes.

Only methods that train adapters on a frozen base read these flags (their option classes include
``QuantizationOptions``), so `full` or `partial` with `--quantization` is refused by the same check
that refuses any flag a method never reads. The classification head is kept out of quantization
(it is trained), and bitsandbytes only replaces ``nn.Linear``, so embeddings stay as loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from balora.config import setting
from balora.errors import ConfigError, UserError

QUANTIZATIONS = ("none", "nf4", "fp4", "int8")
FOUR_BIT = ("nf4", "fp4")
COMPUTE_DTYPES = ("float32", "bfloat16", "float16")
# Heads of the sequence-classification models balora loads; they are freshly initialised and trained.
HEAD_MODULE_NAMES = ["classifier", "score", "pre_classifier"]
# Kept in full precision too: a decoder's LM head, as transformers keeps it when no skip list is given
# (ours replaces its default). Small decoders (SmolLM2, the tests' Llama) tie it to the input
# embeddings, and a 4-bit lm_head sharing the embedding's weight fails at the first forward.
SKIPPED_MODULE_NAMES = HEAD_MODULE_NAMES + ["lm_head"]
BITSANDBYTES_REQUIREMENT = "bitsandbytes>=0.47"


@dataclass
class QuantizationOptions:
    """Quantized base model, QLoRA-style"""

    quantization: str = setting(
        "none", "Load the frozen base's linear layers in 4-bit (nf4, fp4) or 8-bit (int8 = LLM.int8) through "
        "bitsandbytes; the head and embeddings stay in full precision. none = as stored.")
    bnb_4bit_compute_dtype: str = setting(
        "float32", "nf4/fp4: dtype the de-quantised weights compute in (float32, bfloat16, float16).")
    bnb_4bit_use_double_quant: bool = setting(
        False, "nf4/fp4: quantise the quantisation constants as well (QLoRA's double quantisation).")
    prepare_kbit_training: bool = setting(
        False, "Apply PEFT's prepare_model_for_kbit_training to the quantized base: fp16/bf16 weights to fp32 and "
        "gradient checkpointing (less activation memory, one more forward pass per step).")

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ConfigError("quantization", f"must be one of {', '.join(QUANTIZATIONS)} (got {self.quantization!r})")
        if self.bnb_4bit_compute_dtype not in COMPUTE_DTYPES:
            raise ConfigError("bnb_4bit_compute_dtype", f"must be one of {', '.join(COMPUTE_DTYPES)} "
                              f"(got {self.bnb_4bit_compute_dtype!r})")
        four_bit_only = {"bnb_4bit_compute_dtype": self.bnb_4bit_compute_dtype != "float32",
                         "bnb_4bit_use_double_quant": self.bnb_4bit_use_double_quant}
        for name, changed in four_bit_only.items():
            if changed and self.quantization not in FOUR_BIT:
                raise ConfigError(name, f"applies to --quantization nf4 or fp4 only (got {self.quantization})")
        if self.prepare_kbit_training and not self.quantized:
            raise ConfigError("prepare_kbit_training", "needs a quantized base (--quantization nf4, fp4 or int8)")

    @property
    def quantized(self) -> bool:
        return self.quantization != "none"


def _import_bitsandbytes():
    """bitsandbytes, with its import-time notice about optional Hub kernels silenced (it falls back to its own)."""
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    import bitsandbytes

    return bitsandbytes


def require_bitsandbytes(quantization: str, device) -> None:
    """One clear line when bitsandbytes is missing or cannot quantize on this device, before any loading."""
    import torch

    try:
        bnb = _import_bitsandbytes()
    except Exception as err:  # ImportError, or a native library that fails to load
        raise UserError(f"--quantization {quantization} needs {BITSANDBYTES_REQUIREMENT} (pip install 'balora[quant]'): "
                        f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}") from None
    probe = torch.ones(64, 64, device=device)
    try:
        if quantization in FOUR_BIT:
            packed, state = bnb.functional.quantize_4bit(probe, quant_type=quantization)
            bnb.functional.dequantize_4bit(packed, state)
        else:
            bnb.functional.int8_vectorwise_quant(probe)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"--quantization {quantization}: bitsandbytes {bnb.__version__} cannot run on {device} "
                        f"({first})") from None


def loading_kwargs(options: QuantizationOptions | None, device) -> dict:
    """Extra `from_pretrained` arguments that load the base quantized ({} without quantization)."""
    if options is None or not options.quantized:
        return {}
    import torch
    from transformers import BitsAndBytesConfig

    require_bitsandbytes(options.quantization, device)
    if options.quantization in FOUR_BIT:
        config = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=options.quantization,
            bnb_4bit_compute_dtype=getattr(torch, options.bnb_4bit_compute_dtype),
            bnb_4bit_use_double_quant=options.bnb_4bit_use_double_quant, llm_int8_skip_modules=SKIPPED_MODULE_NAMES)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=SKIPPED_MODULE_NAMES)
    # bitsandbytes quantizes as the weights reach their device; name it so a GPU gets them.
    return {"quantization_config": config, "device_map": {"": str(device)}}


def is_quantized_layer(module) -> bool:
    weight = getattr(module, "weight", None)
    return type(weight).__name__ in ("Params4bit", "Int8Params")


def check_head_in_full_precision(model, head_modules: list[str]) -> None:
    """The head is trained: quantizing it would make it untrainable, so it is an error if it happened."""
    for name, module in model.named_modules():
        if name.split(".")[0] in head_modules and is_quantized_layer(module):
            raise UserError(f"the task head's layer {name!r} was quantized; balora keeps heads named "
                            f"{', '.join(HEAD_MODULE_NAMES)} in full precision (this model's head: {', '.join(head_modules)})")


def prepare_quantized_base(model, options: QuantizationOptions | None):
    """Keep 4-bit layers trainable after an evaluation, then PEFT's k-bit preparation if asked for."""
    if options is None or not options.quantized:
        return model
    for module in model.modules():
        # On CPUs with AVX512-BF16, bitsandbytes (0.50) repacks a 4-bit weight in place the first
        # time it runs in eval mode without gradients, and the repacked layout has no backward:
        # training after the first evaluation would fail. The flag keeps the trainable layout.
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    if not options.prepare_kbit_training:
        return model
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True,
                                           gradient_checkpointing_kwargs={"use_reentrant": False})


def full_precision_weight(module):
    """The weight of a linear layer as a float tensor, de-quantised if bitsandbytes holds it packed.

    Called one module at a time, so at most one de-quantised copy exists at once. (PEFT's helper
    re-creates an 8-bit weight on the CPU without its scales, which breaks the layer's next forward.)
    """
    if not is_quantized_layer(module):
        return module.weight
    functional = _import_bitsandbytes().functional
    weight = module.weight
    if type(weight).__name__ == "Params4bit":
        return functional.dequantize_4bit(weight.data, weight.quant_state).float()
    # LLM.int8 keeps per-row scales on the weight until the first forward, then on the layer's state
    scales = weight.SCB if getattr(weight, "SCB", None) is not None else module.state.SCB
    return functional.int8_vectorwise_dequant(weight.data, scales.to(weight.device)).float()


def quantization_summary(options: QuantizationOptions | None) -> dict:
    """What results_final.json records of the base's quantization."""
    if options is None or not options.quantized:
        return {"quantization": "none"}
    summary = {"quantization": options.quantization, "prepare_kbit_training": options.prepare_kbit_training}
    if options.quantization in FOUR_BIT:
        summary.update(compute_dtype=options.bnb_4bit_compute_dtype, double_quant=options.bnb_4bit_use_double_quant)
    return summary
