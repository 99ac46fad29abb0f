"""The names and types of every `balora train` setting, so a study file's value is checked where it
is written.

A value of the wrong type would otherwise surface much later, as a failed experiment or a
traceback, far from the line that holds it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any

from balora.config import TrainConfig
from balora.methods import all_option_classes

TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
METHOD_FIELDS = {f.name for cls in all_option_classes() for f in dataclasses.fields(cls)}


def split_settings(settings: dict[str, Any]) -> tuple[dict, dict]:
    """Flat settings -> (TrainConfig's, the methods' options')."""
    train = {k: v for k, v in settings.items() if k in TRAIN_FIELDS}
    method = {k: v for k, v in settings.items() if k in METHOD_FIELDS}
    return train, method


@cache
def setting_types() -> dict[str, object]:
    """Setting name -> its annotation, for TrainConfig and every method's options."""
    types_by_name = {}
    for cls in (TrainConfig, *all_option_classes()):
        hints = typing.get_type_hints(cls)
        types_by_name.update({field.name: hints[field.name] for field in dataclasses.fields(cls)})
    return types_by_name


_KIND_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "a text"}


def _coerce(annotation, value):
    if annotation is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 2e-3 (no dot) as a string
        except ValueError:
            pass
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (annotation is bool) or not isinstance(value, annotation):
        raise ValueError(_KIND_NAMES.get(annotation, annotation.__name__))
    return value


def typed_setting(name: str, value):
    """The value as its setting's type (a number written as text becomes a number), or
    ValueError saying what the setting takes."""
    annotation = setting_types().get(name)
    if annotation is None:
        return value  # unknown names are reported by the caller
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = len(args) < len(typing.get_args(annotation)), args[0]
        if any(isinstance(value, arm) for arm in args[1:] if isinstance(arm, type)):
            return value  # e.g. peft_config: a file name, or the mapping itself
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} needs a value")
    try:
        if typing.get_origin(annotation) is list:
            item = typing.get_args(annotation)[0]
            return [_coerce(item, v) for v in (value if isinstance(value, list) else [value])]
        return _coerce(annotation, value)
    except ValueError as kind:
        wanted = f"a list, each {kind}" if typing.get_origin(annotation) is list else str(kind)
        raise ValueError(f"{name} must be {wanted} (got {value!r})") from None
