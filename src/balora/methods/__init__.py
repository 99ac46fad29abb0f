"""Registry of fine-tuning methods: name -> Method."""

from __future__ import annotations

from balora.errors import UserError
from balora.methods.base import Method, MethodContext, PreparedModel
from balora.methods.finetune import FULL, PARTIAL
from balora.methods.lora.method import LORA

METHODS: dict[str, Method] = {method.name: method for method in (FULL, PARTIAL, LORA)}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise UserError(f"unknown --peft_method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name]


def all_option_classes() -> list[type]:
    """Every method's option dataclasses, each once, in registry order (these become CLI flags)."""
    seen: list[type] = []
    for method in METHODS.values():
        seen += [cls for cls in method.option_classes if cls not in seen]
    return seen


__all__ = ["METHODS", "Method", "MethodContext", "PreparedModel", "all_option_classes", "get_method"]
