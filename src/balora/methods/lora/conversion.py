"""Saving an adapter whose initialisation changed the base weights (PiSSA, LoRA-GA) as a plain
LoRA adapter on the unmodified base, through PEFT's ``path_initial_model_for_weight_conversion``.

Such a method trains ``W_res + B A`` where ``W_res = W - B0 A0``; the update on the original
weights is ``B A - B0 A0``, which PEFT writes as a LoRA adapter of twice the rank. The initial
adapter (A0, B0) is kept from right after initialisation until the trained one is saved.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from torch import nn

_INITIAL = "initial_adapter"


class InitialAdapter:
    """The adapter as initialised, on disk in a temporary folder that lives as long as this object."""

    def __init__(self, peft_model: nn.Module):
        self._folder = tempfile.TemporaryDirectory(prefix="balora-initial-")
        self.path = str(Path(self._folder.name) / _INITIAL)
        peft_model.save_pretrained(self.path)

    def save_converted(self, model: nn.Module, directory: str) -> None:
        """The trained adapter as plain LoRA (rank 2r) plus the head, reloadable on the original base."""
        from peft import get_peft_model_state_dict
        from safetensors.torch import load_file, save_file

        with warnings.catch_warnings():  # loading the initial adapter beside the trained one is the conversion
            warnings.filterwarnings("ignore", message=r".*changes the base weights of the model")
            model.save_pretrained(directory, path_initial_model_for_weight_conversion=self.path)
        # PEFT's conversion keeps only the LoRA matrices; the trained head (modules_to_save) belongs
        # to the adapter too, so it is written back beside them.
        weights = Path(directory) / "adapter_model.safetensors"
        converted = load_file(weights)
        trained = get_peft_model_state_dict(model)
        kept = {name: tensor.detach().cpu().contiguous() for name, tensor in trained.items()
                if "lora_A" not in name and "lora_B" not in name and name not in converted}
        save_file({**converted, **kept}, weights, metadata={"format": "pt"})
