"""The model card (README.md with the Hub's metadata block) that every saved model folder carries, as
PEFT's users expect beside an adapter: base model, library, tags, the method and its ranks, the data,
the headline metrics, and the `balora train` command that made it. Built from results_final.json and
the folder alone, so a run saved before cards existed gets one at `balora push`."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from balora.record import ResultsRecord

CARD_FILE = "README.md"
HUB_NAMES = {"SmolLM2-135M-Instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
             "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2"}


def hub_name(model: str | None) -> str | None:
    """The packaged models under their Hub ids; any other name as the run was given it."""
    return HUB_NAMES.get(model, model)


def train_command(settings: dict, method_name: str) -> str:
    """`balora train` with every setting that differs from its default (the run's resolved settings)."""
    from balora.config import TrainConfig
    from balora.methods import get_method

    defaults = {f.name: f.default for cls in (TrainConfig, *get_method(method_name).option_classes)
                for f in dataclasses.fields(cls)}
    words = ["balora", "train"]
    for name, value in settings.items():
        if name not in defaults or value == defaults[name] or value is None or value is False:
            continue
        words.append(f"--{name}")
        if value is not True:
            words.extend(str(v) for v in value) if isinstance(value, list) else words.append(str(value))
    return shlex.join(words)


def adapter_shape(checkpoint: Path) -> dict:
    """Rank, alpha and target modules of a saved PEFT adapter; the ranks per module where they differ."""
    from balora.results import read_json

    config_file = checkpoint / "adapter_config.json"
    if not config_file.exists():
        return {}
    config = read_json(config_file)
    shape = {key: config[key] for key in ("peft_type", "r", "lora_alpha", "target_modules", "use_dora",
                                          "init_r", "target_r", "total_step") if config.get(key) is not None}
    if config.get("rank_pattern"):
        # LoRA writes a rank per module; AdaLoRA a mask of the ranks it kept
        ranks = [sum(map(int, v)) if isinstance(v, list) else v for v in config["rank_pattern"].values()]
        shape["rank_pattern"] = f"{len(ranks)} modules, ranks {min(ranks)}-{max(ranks)}, {sum(ranks)} in all"
    return shape


def headline(record: ResultsRecord) -> dict[str, float]:
    metric, scores = record.headline_metric, {}
    for split in ("validation", "test"):
        if metric in record.metrics.get(split, {}):
            scores[f"{split} {metric}"] = record.metrics[split][metric]
    untuned = record.metrics.get("untuned", {}).get("test", {})
    if metric in untuned:
        scores[f"untuned test {metric}"] = untuned[metric]
    return scores


def card_text(record: ResultsRecord, checkpoint: Path) -> str:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from balora.data.registry import DATASETS

    base = hub_name(record.model_name_or_path)
    is_adapter = (checkpoint / "adapter_config.json").exists()
    spec = DATASETS.get(record.dataset)
    dataset_id = spec.hub_path if spec is not None and spec.hub_path else record.dataset
    task_type = "text-classification" if record.task == "classification" else "text-generation"
    test_score = record.metrics.get("test", {}).get(record.headline_metric)
    data = ModelCardData(
        base_model=base, library_name="peft" if is_adapter else "transformers", pipeline_tag=task_type,
        tags=sorted({"balora", record.method, record.task, *([f"base_model:adapter:{base}", "peft"] if is_adapter else [])}),
        datasets=[dataset_id] if spec is not None and spec.hub_path else None, model_name=record.experiment_name,
        eval_results=[EvalResult(task_type=task_type, dataset_type=dataset_id, dataset_name=record.dataset,
                                 dataset_split="test", metric_type=record.headline_metric,
                                 metric_value=float(test_score))] if isinstance(test_score, (int, float)) else None)
    shape = adapter_shape(checkpoint)
    lines = [f"# {record.experiment_name}", "",
             f"{'A ' + record.method + ' adapter' if is_adapter else 'A ' + record.method + ' fine-tune'} of "
             f"`{base}` for {record.task} on `{record.dataset}`, trained with balora (parameter-efficient "
             "fine-tuning with budget-aware rank allocation).", "",
             "| | |", "|---|---|", f"| method | {record.method} |",
             f"| trainable parameters | {record.parameters.trainable:,} (adapter {record.parameters.adapter:,}) |",
             *(f"| {key} | {value} |" for key, value in shape.items()),
             *(f"| {key} | {value} |" for key, value in record.method_summary.items() if isinstance(value, (int, float, str))),
             f"| data | {record.data.source if record.data else record.dataset}; "
             f"sizes {record.data.sizes.as_dict() if record.data else {}} |",
             *(f"| {key} | {value:.4f} |" for key, value in headline(record).items() if isinstance(value, (int, float))),
             f"| seed | {record.seed} |", "",
             "Made with:", "", "```", train_command(record.config, record.method), "```", ""]
    if is_adapter:
        lines += ["Load it with PEFT:", "", "```python", "from peft import AutoPeftModelForCausalLM" if task_type ==
                  "text-generation" else "from peft import AutoPeftModelForSequenceClassification", "",
                  f"model = {'AutoPeftModelForCausalLM' if task_type == 'text-generation' else 'AutoPeftModelForSequenceClassification'}"
                  ".from_pretrained(\"<this folder or repo>\")", "```", ""]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)
    return str(ModelCard(content))


def write_model_card(record: ResultsRecord, checkpoint: Path) -> Path:
    """README.md of ``checkpoint`` (replacing the template PEFT's save_pretrained writes)."""
    from balora.results import atomic_write_text

    path = Path(checkpoint) / CARD_FILE
    atomic_write_text(path, card_text(record, Path(checkpoint)))
    return path
