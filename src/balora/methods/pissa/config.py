"""Flags of PiSSA (PEFT's init_lora_weights="pissa")."""

from __future__ import annotations

from dataclasses import dataclass

from balora.config import require_positive, setting


@dataclass
class PissaOptions:
    """PiSSA initialisation (pissa)"""

    pissa_niter: int | None = setting(
        None, "Fast PiSSA: randomised SVD with this many subspace iterations (PEFT's pissa_niter_K; "
        "default: the exact SVD of every target weight).")

    def __post_init__(self) -> None:
        require_positive("pissa_niter", self.pissa_niter, allow_none=True)

    @property
    def init_lora_weights(self) -> str:
        return "pissa" if self.pissa_niter is None else f"pissa_niter_{self.pissa_niter}"
