"""Per-module ranks of a saved adapter, arranged as a layers x module-type grid.

Ranks are read from the adapter's own files, so any PEFT LoRA or AdaLoRA adapter works, whoever
wrote it: the final rank of a module is the number of rows of its saved ``lora_A`` (AdaLoRA
saves only its unmasked triplets), and AdaLoRA's initial rank is ``init_r`` of its config.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from balora.errors import UserError
from balora.results import read_json

_LORA_A = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_A(?:\.weight)?$")  # AdaLoRA: no .weight


def adapter_ranks(model_path: str | Path) -> dict[str, dict[str, int]]:
    """{"final": module -> rank} and, for AdaLoRA, {"initial": module -> init_r}."""
    from safetensors import safe_open

    model_path = Path(model_path)
    weights, config_path = model_path / "adapter_model.safetensors", model_path / "adapter_config.json"
    if not weights.exists() or not config_path.exists():
        raise UserError(f"--model_path {model_path}: no PEFT adapter there (adapter_config.json and "
                        "adapter_model.safetensors); full fine-tuning has no ranks to plot")
    final = {}
    with safe_open(str(weights), framework="pt") as handle:
        for key in handle.keys():
            match = _LORA_A.match(key)
            if match:
                final[match["module"]] = handle.get_slice(key).get_shape()[0]
    if not final:
        raise UserError(f"--model_path {model_path}: the adapter has no lora_A weights (not a LoRA-type adapter)")
    config = read_json(config_path)
    ranks = {"final": final}
    if config.get("peft_type") == "ADALORA":
        ranks["initial"] = {module: config["init_r"] for module in final}
    return ranks


def adapter_title(model_path: str | Path) -> str:
    """The method and the experiment an adapter belongs to, for a figure title: from the experiment's
    results_final.json when the adapter is an experiment's model_checkpoint, else the adapter's own
    config and folder name."""
    model_path = Path(model_path).resolve()
    final = model_path.parent / "results_final.json"
    method = read_json(final).get("method") if final.exists() else None
    if method is None:
        method = str(read_json(model_path / "adapter_config.json").get("peft_type", "adapter")).lower()
    experiment = model_path.parent.name if model_path.name == "model_checkpoint" else model_path.name
    return f"{method}, experiment {experiment}"


def layer_and_kind(module: str) -> tuple[int, str]:
    """``bert.encoder.layer.3.attention.self.query`` -> (3, "attention.self.query")."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return int(part), ".".join(parts[i + 1:])
    return 0, module


def rank_grid(ranks: dict[str, int]) -> pd.DataFrame:
    """Layers as rows, module types as columns (in model order), ranks as values."""
    cells = [(*layer_and_kind(module), rank) for module, rank in ranks.items()]
    kinds = list(dict.fromkeys(kind for _, kind, _ in cells))
    short = {kind: kind.split(".")[-1] for kind in kinds}
    if len(set(short.values())) < len(kinds):  # e.g. attention.output.dense and output.dense
        short = {kind: kind.replace("attention.self.", "").replace("attention.", "attn.") for kind in kinds}
    grid = pd.DataFrame([(layer, short[kind], rank) for layer, kind, rank in cells], columns=["layer", "module", "rank"])
    return grid.pivot_table(index="layer", columns="module", values="rank", aggfunc="sum", sort=False)[
        [short[k] for k in kinds]]
