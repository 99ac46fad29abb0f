"""Flags of EVA (PEFT's init_lora_weights="eva" with an EvaConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_in_range, require_positive, setting
from balora.errors import ConfigError


@dataclass
class EvaOptions:
    """EVA initialisation (eva)"""

    eva_samples: int = setting(
        256, "Training examples (batches of --batch_size, cycled until the SVDs converge) whose layer inputs "
        "initialise the adapters (capped at the training set size).")
    eva_rho: float = setting(
        2.0, "Largest rank a module may get, as a multiple of --lora_r (1 = no redistribution); the total stays "
        "--lora_r x modules.")
    eva_tau: float = setting(0.99, "Cosine similarity of successive singular vectors at which their SVD stops.")
    eva_whiten: bool = setting(False, "Whiten the singular vectors (divide by the square root of their singular "
                               "values).")

    def __post_init__(self) -> None:
        require_positive("eva_samples", self.eva_samples)
        if not self.eva_rho >= 1.0:
            raise ConfigError("eva_rho", f"must be >= 1 (got {self.eva_rho})")
        require_in_range("eva_tau", self.eva_tau, 0.0, 1.0)
