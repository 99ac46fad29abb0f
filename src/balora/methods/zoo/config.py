"""Flags of the PEFT-config methods (`peft` and its presets): a PEFT config as a file or mapping,
and the field of it that a parameter budget sets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from balora.config import setting
from balora.errors import ConfigError


def read_mapping(value: str | dict | None) -> dict:
    """The PEFT config fields of --peft_config: a JSON or YAML file, or (in a study) the mapping itself."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    path = Path(value)
    if not path.is_file():
        raise ConfigError("peft_config", f"no such file: {value}")
    text = path.read_text()
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ConfigError("peft_config", f"{value} is not valid JSON ({err})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError("peft_config", f"{value} is not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError("peft_config", f"{value} must hold a mapping of PEFT config fields (peft_type: ..., r: ...)")
    return data


@dataclass
class PeftConfigOptions:
    """Any PEFT config (peft and its presets)"""

    peft_config: str | dict | None = setting(
        None, "PEFT config as a JSON or YAML file (in a study: the mapping itself): peft_type plus any fields of "
        "that PEFT config class, e.g. {peft_type: VERA, r: 256}. target_modules default to the run's targets "
        "(the architecture's LoRA targets); the task head is always trained (modules_to_save).")
    budget_knob: str | None = setting(
        None, "The integer field of the config that --param_budget sets: the largest value whose adapter "
        "parameters fit the budget (counted on an empty, meta-device copy of the model).")

    def __post_init__(self) -> None:
        fields = read_mapping(self.peft_config)  # a missing or malformed file: one line before anything loads
        if "peft_type" in fields and not isinstance(fields["peft_type"], str):
            raise ConfigError("peft_config", f"peft_type must be a name such as VERA (got {fields['peft_type']!r})")
        if self.budget_knob is not None and not self.budget_knob.isidentifier():
            raise ConfigError("budget_knob", f"must be the name of a config field (got {self.budget_knob!r})")

    def fields(self) -> dict:
        return read_mapping(self.peft_config)
