"""Flags shared by every LoRA-based method."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_in_range, require_positive, setting


@dataclass
class LoraOptions:
    """LoRA adapters (lora, ba_lora, adalora, layerwise, plateau_lora)"""

    lora_r: int = setting(8, "LoRA rank of every target module.")
    lora_alpha: float = setting(16, "LoRA scaling numerator: updates are scaled by lora_alpha / r.")
    lora_dropout: float = setting(0.1, "Dropout on the LoRA branch input.")
    lora_target_modules: list[str] | None = setting(
        None, "Module names to adapt (default: per architecture, e.g. query value for BERT); "
        "all-linear: every linear layer except the task head, as in PEFT."
    )
    use_rslora: bool = setting(False, "Rank-stabilised scaling lora_alpha / sqrt(r).")

    def __post_init__(self) -> None:
        require_positive("lora_r", self.lora_r)
        require_positive("lora_alpha", self.lora_alpha)
        require_in_range("lora_dropout", self.lora_dropout, 0.0, 0.99)
        if self.lora_target_modules is not None and not self.lora_target_modules:
            from balora.errors import ConfigError

            raise ConfigError("lora_target_modules", "needs at least one module name")
