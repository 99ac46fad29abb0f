"""Sweeps in a study file: one method entry, many configurations.

A method entry may hold ``sweep:``, a mapping of setting -> list of values. It stands for the
product of the lists, each combination a group of its own (with the study's usual learning-rate
selection and seeds), named after what it sets: label ``lora`` with ``sweep: {lora_alpha: [16, 44]}``
becomes the groups ``lora-lora_alpha=16`` and ``lora-lora_alpha=44``.

A value may be relative to another setting of the same configuration, written as a mapping::

    sweep:
      lora_alpha: {times: lora_r, values: [0.5, 1, 2]}   # alpha = r x 0.5, r x 1, r x 2

The reference is read once the configuration is complete (after budgets set the rank), and the
group's name shows the value it came to (``lora_alpha=11`` at r=22). Sweeping ``learning_rate``
gives every rate a group of its own (all seeds, no selection) instead of a grid to select from.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

RELATIVE_KEYS = {"times", "values"}
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.+=-]")


@dataclass(frozen=True)
class Relative:
    """``factor`` times the value of the setting ``reference``."""

    reference: str
    factor: float

    def text(self) -> str:
        return f"{_short(self.reference)} × {self.factor:g}"


@dataclass(frozen=True)
class Variant:
    """One combination of a sweep: setting -> value (or Relative), in the order the file gives."""

    values: dict[str, Any] = field(default_factory=dict)

    def resolve(self, settings: dict[str, Any], default_of) -> tuple[dict[str, Any], dict[str, str]]:
        """The settings this combination sets, and how each reads in a legend (``11 (r × 0.5)``).

        ``settings``: the configuration without the sweep (plus its fixed values); ``default_of(name)``
        the value of a setting nobody set. Raises ValueError naming the setting at fault.
        """
        resolved, texts = {}, {}
        for name, value in self.values.items():
            if isinstance(value, Relative):
                base = resolved.get(value.reference, settings.get(value.reference, default_of(value.reference)))
                if isinstance(base, bool) or not isinstance(base, (int, float)):
                    raise ValueError(f"{name}: 'times: {value.reference}' needs a number, but "
                                     f"{value.reference} is {base!r}")
                number = value.factor * base
                resolved[name] = int(number) if float(number).is_integer() else number
                texts[name] = f"{value_text(resolved[name])} ({value.text()})"
            else:
                resolved[name] = value
                texts[name] = value_text(value)
        return resolved, texts

    def label(self, base_label: str, resolved: dict[str, Any]) -> str:
        if not self.values:
            return base_label
        return "-".join([base_label, *(f"{name}={name_text(resolved[name])}" for name in self.values)])


def _short(name: str) -> str:
    return {"lora_r": "r"}.get(name, name)


def value_text(value) -> str:
    """A value as a reader sees it: 0.0001 -> 1e-04 stays compact, lists joined with +."""
    if isinstance(value, list):
        return "+".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def name_text(value) -> str:
    """A value as part of an experiment name (letters, digits and . _ + = - only)."""
    return _NAME_SAFE.sub("_", value_text(value))


def is_categorical(values: list) -> bool:
    """Settings whose values are not numbers (target modules, strategies) are compared as bars."""
    return not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def expand_sweep(sweep: Any, error, known_setting, typed=lambda name, value: value) -> list[Variant]:
    """The combinations of an entry's ``sweep:`` (one empty Variant without a sweep).

    ``error(keys, message)`` builds the line-numbered error for a key path under the sweep;
    ``known_setting(name)`` returns a message when ``name`` cannot be swept, else None;
    ``typed(name, value)`` the value as its setting's type, or ValueError saying what it takes.
    """
    if sweep is None:
        return [Variant()]
    if not isinstance(sweep, dict) or not sweep:
        raise error((), "sweep must be a mapping of setting: [values]")
    axes: list[list[tuple[str, Any]]] = []
    for name, spec in sweep.items():
        problem = known_setting(name)
        if problem:
            raise error((name,), problem)
        values = _axis_values(name, spec, sweep, error, typed)
        axes.append([(name, value) for value in values])
    return [Variant(dict(combination)) for combination in itertools.product(*axes)]


def _axis_values(name: str, spec: Any, sweep: dict, error, typed) -> list:
    if isinstance(spec, dict):
        if set(spec) != RELATIVE_KEYS:
            raise error((name,), f"a relative sweep is {{times: <setting>, values: [numbers]}} (got keys "
                        f"{', '.join(map(str, spec))})")
        reference, factors = spec["times"], spec["values"]
        if not isinstance(reference, str):
            raise error((name, "times"), f"times names a setting (got {reference!r})")
        if reference == name or isinstance(sweep.get(reference), dict):
            raise error((name, "times"), f"{name} cannot be relative to {reference}, itself relative or the same")
        factors = _list(name, factors, ("values",), error)
        for i, factor in enumerate(factors):
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor):
                raise error((name, "values", i), f"the factors of {name} must be numbers (got {factor!r})")
        return [Relative(reference, float(f)) for f in factors]
    values = []
    for i, value in enumerate(_list(name, spec, (), error)):
        try:
            values.append(typed(name, value))
        except ValueError as err:
            raise error((name, i), str(err)) from None
    texts = [name_text(v) for v in values]
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        raise error((name,), f"{name} lists {repeated[0]} twice")
    return values


def _list(name: str, spec: Any, keys: tuple, error) -> list:
    if not isinstance(spec, list) or not spec:
        raise error((name, *keys), f"sweep {name} needs a non-empty list of values (got {spec!r})")
    return spec

