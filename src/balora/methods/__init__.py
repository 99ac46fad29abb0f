"""Registry of fine-tuning methods: name -> Method (light: no torch or PEFT until a method prepares)."""

from __future__ import annotations

import dataclasses
import importlib

from balora.errors import UserError
from balora.methods.base import Method, MethodContext, PreparedModel

# One line per method: "module:Method object" (or a tuple of them: the PEFT presets). A method's package __init__ is light (no torch or
# PEFT), so reading the registry stays fast.
REGISTRY = (
    "balora.methods.finetune:FULL",
    "balora.methods.finetune:PARTIAL",
    "balora.methods.lora:LORA",
    "balora.methods.ba_lora:BA_LORA",
    "balora.methods.adalora:ADALORA",
    "balora.methods.layerwise:LAYERWISE",
    "balora.methods.plateau:PLATEAU_LORA",
    "balora.methods.pissa:PISSA",
    "balora.methods.lora_ga:LORA_GA",
    "balora.methods.eva:EVA",
    "balora.methods.dora:DORA",
    "balora.methods.zoo:PEFT",
    "balora.methods.zoo:PRESET_METHODS",  # one line each in balora/methods/zoo/presets.py
)


def _load(entry: str) -> tuple[Method, ...]:
    module, name = entry.split(":")
    loaded = getattr(importlib.import_module(module), name)
    return loaded if isinstance(loaded, tuple) else (loaded,)


METHODS: dict[str, Method] = {method.name: method for entry in REGISTRY for method in _load(entry)}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise UserError(f"unknown --peft_method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name]


def learning_rate_of(method: Method) -> float:
    """--learning_rate for ``method`` when none is given."""
    from balora.config import DEFAULT_LEARNING_RATE

    return method.default_learning_rate or DEFAULT_LEARNING_RATE


def all_option_classes() -> list[type]:
    """Every method's option dataclasses, each once, in registry order (these become CLI flags)."""
    seen: list[type] = []
    for method in METHODS.values():
        seen += [cls for cls in method.option_classes if cls not in seen]
    return seen


def check_options_apply(method: Method, options: dict[type, object]) -> None:
    """Refuse settings, changed from their defaults, that the method never reads: each would be
    ignored without a word, and `--param_budget` on plain LoRA looks budget-matched when it is not."""
    for cls, value in options.items():
        if cls in method.option_classes:
            continue
        default = cls()
        for name in (f.name for f in dataclasses.fields(cls)):
            if getattr(value, name) != getattr(default, name):
                raise UserError(not_applying(method, name))


def not_applying(method: Method, name: str) -> str:
    """The refusal of a flag the method does not read: why, where a library refuses it, and who reads it."""
    why = f": {method.refused_flags[name]}" if name in method.refused_flags else ""
    return (f"--{name} does not apply to --peft_method {method.name}{why} "
            f"(methods that read it: {', '.join(readers_of(name))})")


def readers_of(name: str) -> list[str]:
    """The methods that read a setting."""
    return [m.name for m in METHODS.values()
            if any(name in cls.__dataclass_fields__ for cls in m.option_classes)]


def refuse_flags_of_other_methods(method: Method, words: list[str]) -> None:
    """A flag another method reads, given to this one: one line naming the methods that read it
    (given at its default too: the user meant it to do something)."""
    for word in words:
        name = word[2:].split("=", 1)[0] if word.startswith("--") else None
        if name and readers_of(name):
            raise UserError(not_applying(method, name))


def build_options(**settings) -> dict[type, object]:
    """Every method's option dataclasses from flat settings (unknown names are an error)."""
    classes = all_option_classes()
    known = {f.name for cls in classes for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise UserError(f"unknown method settings: {', '.join(unknown)}")
    return {
        cls: cls(**{f.name: settings[f.name] for f in dataclasses.fields(cls) if f.name in settings})
        for cls in classes
    }


__all__ = ["METHODS", "Method", "MethodContext", "PreparedModel", "all_option_classes", "build_options",
           "check_options_apply", "get_method", "readers_of", "refuse_flags_of_other_methods"]
