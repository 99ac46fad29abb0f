"""The settings and inputs of one run: what `balora train` resolves and loads before its experiment
folder exists, and what a study or a deferred test needs to do the same without training."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from balora.config import TrainConfig
from balora.data import get_dataset_spec
from balora.data.loading import TaskData
from balora.data.registry import check_file_flags
from balora.memory.accounting import model_bytes
from balora.methods import get_method, learning_rate_of
from balora.modeling import LoadedModel, check_max_length, load_model, load_tokenizer
from balora.packaged_models import packaged_default
from balora.quantization import QuantizationOptions


def dataset_spec_of(config: TrainConfig):
    """The dataset's spec with the run's column overrides (and files, for csv / jsonl only)."""
    check_file_flags(config.dataset, config.train_file, config.validation_file, config.test_file)
    return get_dataset_spec(config.dataset, config.text_column, config.text_pair_column, config.label_column,
                            config.prompt_column, config.response_column)


def with_resolved_defaults(config: TrainConfig, spec=None, method=None) -> TrainConfig:
    """The settings left to depend on the data or the method, filled in: the packaged model for the
    data's kind, the method's own learning rate. Whatever compares a run's settings with recorded
    ones (--resume, a study's rerun) compares these."""
    spec = spec or dataset_spec_of(config)
    return dataclasses.replace(
        config, model_name_or_path=config.model_name_or_path or packaged_default(spec.is_text_to_text),
        learning_rate=config.learning_rate or learning_rate_of(method or get_method(config.peft_method)))


def resolved_settings(config: TrainConfig, options: dict[type, object]) -> dict:
    settings = dataclasses.asdict(config)
    for option in options.values():
        settings.update(dataclasses.asdict(option))
    return settings


@dataclass
class Inputs:
    """Data, tokenizer and model, loaded and checked before the experiment folder is written."""

    task: object  # balora.tasks: how the data is encoded, scored and tested
    data: TaskData
    tokenized: dict
    collator: object
    tokenizer: object
    loaded: LoadedModel
    base_bytes: int  # the base model's weights as loaded (quantized where quantized)


def load_inputs(config: TrainConfig, spec, task, say, quantization: QuantizationOptions | None) -> Inputs:
    tokenizer = load_tokenizer(config.model_name_or_path)
    check_max_length(config.model_name_or_path, config.max_length, tokenizer)
    data = task.load_data(spec, config)
    spec, sizes = data.spec, data.sizes()
    say(f"Dataset: {spec.name} ({data.source}); train {sizes['train']:,}, validation {sizes['validation']:,}, "
        f"test {sizes['test']:,}; {''.join(f'{note}; ' for note in data.notes)}{task.describe(spec)}; best "
        f"{f'of evaluations every {config.eval_steps} steps' if config.eval_steps else 'epoch'} by validation "
        f"{task.trainer_evaluation(spec).metric}")
    tokenized = task.encode(data, tokenizer, config, say)
    loaded = load_model(config.model_name_or_path, task.num_labels(spec), config.seed, spec.label_names, quantization)
    return Inputs(task, data, tokenized, task.collator(tokenizer), tokenizer, loaded, model_bytes(loaded.model))


def check_cap(config: TrainConfig, options, inputs: Inputs) -> None:
    """--max_trainable_parameters, counted on the loaded model before the experiment folder exists."""
    if config.max_trainable_parameters is None:
        return
    import torch

    from balora.counting import check_trainable_cap
    from balora.preparation import count_configuration

    with torch.random.fork_rng(devices=[]):  # counting initialises adapters; training's draws stay the same
        planned = count_configuration(config, options, inputs.task.num_labels(inputs.data.spec),
                                      base=inputs.loaded).parameters
    check_trainable_cap(config.experiment_name, planned, config.max_trainable_parameters)
