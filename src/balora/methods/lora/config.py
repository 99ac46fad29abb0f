"""The pieces LoRA-family methods compose their flags from (each method takes the ones it reads)."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_in_range, require_positive, setting
from balora.errors import ConfigError


@dataclass
class LoraRankOptions:
    """LoRA rank"""

    lora_r: int = setting(8, "LoRA rank of every target module.")

    def __post_init__(self) -> None:
        require_positive("lora_r", self.lora_r)


@dataclass
class LoraOptions:
    """LoRA adapters"""

    lora_alpha: float = setting(16, "LoRA scaling numerator: updates are scaled by lora_alpha / r.")
    lora_dropout: float = setting(0.1, "Dropout on the LoRA branch input.")
    lora_target_modules: list[str] | None = setting(
        None, "Module names to adapt (default: per architecture, e.g. query value for BERT); "
        "all-linear: every linear layer except the task head, as in PEFT."
    )

    def __post_init__(self) -> None:
        require_positive("lora_alpha", self.lora_alpha)
        require_in_range("lora_dropout", self.lora_dropout, 0.0, 0.99)
        if self.lora_target_modules is not None and not self.lora_target_modules:
            raise ConfigError("lora_target_modules", "needs at least one module name")


@dataclass
class RsLoraOptions:
    """Rank-stabilised scaling"""

    use_rslora: bool = setting(False, "Rank-stabilised scaling lora_alpha / sqrt(r) instead of lora_alpha / r.")
