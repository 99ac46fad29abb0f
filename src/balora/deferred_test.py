"""Scoring the test split of a finished run from its saved model, not by training it again.

A study's search runs train without the test split (evaluate_test: selected): only the rate the
validation split chooses is reported, so only its run is tested, here, once it is chosen. The
model is rebuilt as `balora train` built it (the run's own settings from config.json, its data,
tokenizer and base model), the saved adapter of the kept checkpoint is loaded onto the base (a full
fine-tune's saved model is loaded instead), and a Trainer with the run's settings scores it through
the task's own test, so the numbers and files are those the run would have written itself.
"""

from __future__ import annotations

import dataclasses
import shutil
import time

from balora.config import TrainConfig
from balora.console import Console, is_main_process
from balora.methods import build_options
from balora.model_card import write_model_card
from balora.preparation import quantization_of, resolve_method
from balora.record import ResultsRecord, read_results_record
from balora.results import ExperimentDir, read_json
from balora.tasks import task_for
from balora.tasks.base import EvaluationInputs
from balora.run_inputs import dataset_spec_of, load_inputs

TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def saved_configuration(settings: dict) -> tuple[TrainConfig, dict[type, object]]:
    """The TrainConfig and method options a run recorded in its config.json."""
    config = TrainConfig(**{k: v for k, v in settings.items() if k in TRAIN_FIELDS})
    return config, build_options(**{k: v for k, v in settings.items() if k not in TRAIN_FIELDS})


def load_saved_model(base, checkpoint, num_labels, config: TrainConfig, spec):
    """The kept model: the saved PEFT adapter (with its trained head) on ``base``, or a full fine-tune's
    saved model."""
    if (checkpoint / "adapter_config.json").exists():
        from peft import PeftModel

        # As trainable, the state the run tested itself in: AdaLoRA's forward adds its orthogonality
        # term to any loss and reads its trainable adapter to do so, which an inference-mode load lacks.
        return PeftModel.from_pretrained(base, str(checkpoint), is_trainable=True)
    from balora.modeling import load_model

    return load_model(str(checkpoint), num_labels, config.seed, spec.label_names).model


def test_saved_experiment(results_dir: str, name: str, console: Console | None = None) -> ResultsRecord:
    """Score the test split of the finished experiment ``name`` and add it to its record (its
    results_final.json, test files and model card); a record already tested is returned as it is."""
    console = console or Console(quiet=True)
    experiment = ExperimentDir(results_dir, name)
    record = read_results_record(experiment.file("results_final.json"))
    if record.tested:
        return record
    if is_main_process():  # what the test says joins the run's own log
        console.say("--- testing the kept model, saved at the end of training (the run skipped the test split)")
        console.attach(experiment.file("training_log.txt"))
    config, options = saved_configuration(read_json(experiment.file("config.json")))
    method, options = resolve_method(config.peft_method, options)
    spec = dataset_spec_of(config)
    task = task_for(spec, config.task)
    inputs = load_inputs(config, spec, task, console.say, quantization_of(options))
    evaluation_inputs = EvaluationInputs(inputs.tokenized, inputs.collator, inputs.tokenizer, inputs.data.spec,
                                         config, console.say, test_rows=inputs.data.splits.get("test"))
    untuned_test = None
    if "untuned" in record.metrics and "test" not in record.metrics["untuned"]:  # the base, before the adapter
        untuned_test = _untuned_test(task, inputs.loaded.model, evaluation_inputs)
    model = load_saved_model(inputs.loaded.model, experiment.model_checkpoint, task.num_labels(inputs.data.spec),
                             config, inputs.data.spec)
    from balora.training.trainer import build_trainer

    # No tracker: the run's own tracker run ended with its training; a predict would open another.
    trainer = build_trainer(model, dataclasses.replace(config, report_to="none"), experiment.checkpoints,
                            inputs.tokenized, inputs.collator, inputs.tokenizer,
                            task.trainer_evaluation(inputs.data.spec), [])
    started = time.perf_counter()
    try:
        tested = task.test(trainer, trainer.model, evaluation_inputs)
    finally:
        shutil.rmtree(experiment.checkpoints, ignore_errors=True)
    seconds = time.perf_counter() - started
    record.metrics["test"] = tested.metrics
    if untuned_test is not None:
        record.metrics["untuned"]["test"] = untuned_test
    if record.timing is not None:  # the run's time as if it had tested itself
        record.timing = dataclasses.replace(record.timing, eval_seconds=record.timing.eval_seconds + seconds,
                                            total_seconds=record.timing.total_seconds + seconds)
    if is_main_process():
        for file_name, write in tested.files.items():
            write(experiment.file(file_name))
        write_model_card(record, experiment.model_checkpoint)
        experiment.write_json("results_final.json", record.as_dict())  # last: a record with a test is whole
    return record


def _untuned_test(task, base, evaluation_inputs: EvaluationInputs) -> dict:
    from balora.modeling import training_device
    from balora.tasks.language import evaluation_autocast

    base.to(training_device())
    with evaluation_autocast(base, evaluation_inputs.config):
        return task.untuned_test(base, evaluation_inputs)["test"]
