"""A PEFT config from balora's fields: every check that needs only PEFT (a known peft_type, fields
its config class has, an integer budget knob), and the adapter count of a config on an empty,
meta-device copy of a model (no weights loaded), which budgets are met on."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable

import peft
from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING
from torch import nn

from balora.counting import count_parameters
from balora.errors import ConfigError, UserError

INTEGER_ANNOTATIONS = {"int", "Optional[int]", "int | None", int}
# LoRA initialisations that change the base weights (W -> W - B0 A0): the trained adapter is saved
# converted to plain LoRA on the unmodified base (balora.methods.lora.conversion).
BASE_CHANGING_INITS = ("pissa", "olora", "corda")


def config_class(fields: dict) -> type:
    """The PEFT config class of ``fields``' peft_type; refused where PEFT does not know it or a field."""
    if "peft_type" not in fields:
        raise ConfigError("peft_config", "needs a peft_type (e.g. VERA, LORA, IA3, LOHA)")
    cls = PEFT_TYPE_TO_CONFIG_MAPPING.get(str(fields["peft_type"]).upper())
    if cls is None:
        raise ConfigError("peft_config", f"unknown peft_type {fields['peft_type']!r}; PEFT {peft.__version__} knows "
                          f"{', '.join(sorted(PEFT_TYPE_TO_CONFIG_MAPPING))}")
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ConfigError("peft_config", f"{cls.__name__} (PEFT {peft.__version__}) has no field "
                          f"{', '.join(unknown)}")
    return cls


def check_knob(cls: type, knob: str) -> None:
    """The budget knob must be an integer field of the config class."""
    annotation = next((f.type for f in dataclasses.fields(cls) if f.name == knob), None)
    if annotation is None:
        raise ConfigError("budget_knob", f"{cls.__name__} has no field {knob!r}")
    if annotation not in INTEGER_ANNOTATIONS:
        raise ConfigError("budget_knob", f"{cls.__name__}.{knob} is not an integer field ({annotation}); the "
                          "budget knob must be one")


def build_config(cls: type, fields: dict):
    """The config object; PEFT's own checks of the values become one line naming --peft_config."""
    values = copy.deepcopy({name: value for name, value in fields.items() if name != "peft_type"})  # PEFT extends lists in place
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError("peft_config", f"{cls.__name__}: {first_line(err)}") from None


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def changes_base(config) -> bool:
    init = getattr(config, "init_lora_weights", None)
    return isinstance(init, str) and init.startswith(BASE_CHANGING_INITS)


def for_counting(config):
    """The config with initialisations that read the weights replaced by plain ones: a count needs
    only shapes (and a meta-device weight has no values to decompose or sample a mask from)."""
    config = copy.copy(config)
    if isinstance(getattr(config, "init_lora_weights", None), str):
        config.init_lora_weights = True
    if getattr(config, "mask_fn", None) is not None:  # SHiRA: r*(m+n) entries whatever the mask
        config.mask_fn = None
    return config


def wrap(model: nn.Module, config, strict: bool = False) -> nn.Module:
    """``model`` in PEFT's adapter of ``config``; PEFT's refusals (a layer type it does not adapt, a
    value the model's shapes rule out) become one line. ``strict``: a value PEFT would replace by
    another (OFT rounds a block size to one that divides the width, with a warning) is refused too,
    so that a count is never that of another value than the one asked for."""
    try:
        with warnings.catch_warnings(record=True) as caught:  # PEFT's notes (a CUDA kernel it falls back from)
            warnings.simplefilter("always")
            wrapped = peft.get_peft_model(model, config)
    except (ValueError, TypeError, NotImplementedError, RuntimeError, AssertionError) as err:
        raise UserError(f"--peft_config: PEFT cannot apply {type(config).__name__} to this model: "
                        f"{first_line(err)}") from None
    adjusted = [str(w.message) for w in caught if "Invalid" in str(w.message)]
    if strict and adjusted:
        raise UserError(f"--peft_config: {adjusted[0]}")
    return wrapped


def meta_copy(model: nn.Module) -> nn.Module:
    """An empty copy of ``model``'s architecture on the meta device: no weight is allocated."""
    import torch

    with torch.device("meta"):
        return type(model)._from_config(copy.deepcopy(model.config))


def adapter_counter(skeleton: Callable[[], nn.Module], cls: type, fields: dict, knob: str,
                    head_modules: list[str]) -> Callable[[int], int | None]:
    """knob value -> adapter parameters of the config at that value on a fresh skeleton (None: PEFT
    refuses the value)."""
    def cost(value: int) -> int | None:
        try:
            config = for_counting(build_config(cls, {**fields, knob: value}))
            return count_parameters(wrap(skeleton(), config, strict=True), head_modules).adapter
        except UserError:
            return None

    return cost
