"""Building the transformers Trainer from an experiment's settings.

The same command runs unchanged under ``accelerate launch`` or ``torchrun``: the Trainer
reads the process group from the environment.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

from transformers import Trainer, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from balora.config import TrainConfig
from balora.training.batching import LengthGroupedTrainer
from balora.training.callbacks import EvaluateAtLastStep, QuietProgress
from balora.training.precision import resolve_precision, trainer_precision_arguments


def logging_interval(train_size: int, config: TrainConfig) -> int:
    """About 20 points per epoch on the training curve, at least one per optimizer step."""
    steps_per_epoch = math.ceil(train_size / (config.batch_size * config.gradient_accumulation_steps))
    return max(1, steps_per_epoch // 20)


def training_arguments(config: TrainConfig, output_dir: Path, metric: str, train_size: int,
                       greater_is_better: bool = True) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_ratio,  # a float below 1 is a fraction of all optimizer steps
        max_grad_norm=config.max_grad_norm,
        # Every N optimizer steps with --eval_steps (best checkpoint among those), else every epoch.
        eval_strategy="steps" if config.eval_steps else "epoch",
        save_strategy="steps" if config.eval_steps else "epoch",
        eval_steps=config.eval_steps,
        save_steps=config.eval_steps,
        save_total_limit=1,  # with load_best_model_at_end the best checkpoint is kept as well
        # One evaluation leaves nothing to choose: the model in memory is the best; reloading it
        # from its checkpoint would only cost time. (The checkpoint itself stays, for --resume.)
        load_best_model_at_end=config.epochs > 1 or config.eval_steps is not None,
        metric_for_best_model=metric,
        greater_is_better=greater_is_better,  # perplexity: lower is better
        logging_strategy="steps",
        logging_steps=min(logging_interval(train_size, config), config.eval_steps or math.inf),
        logging_nan_inf_filter=False,  # a NaN must show, not be averaged away
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=config.num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to=[] if config.report_to == "none" else [config.report_to],
        run_name=config.experiment_name,  # how the run is named in TensorBoard / MLflow / W&B
        # Progress bars only on a terminal: in a log file (CI, tee, a study's log) their carriage
        # returns run into the report lines.
        disable_tqdm=not sys.stderr.isatty(),
        save_only_model=False,  # optimizer and scheduler state are needed to --resume
        **trainer_precision_arguments(resolve_precision(config.precision)),
    )


def keep_tensorboard_logs(trainer: Trainer, logging_dir: Path) -> None:
    """TensorBoard logs go under the Trainer's output folder by default, which holds checkpoints
    that are deleted once the experiment finishes; keep them in the experiment folder instead."""
    import os

    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and not os.getenv("TENSORBOARD_LOGGING_DIR"):
            callback.logging_dir = str(logging_dir)


def build_trainer(model, config: TrainConfig, output_dir: Path, datasets: dict, collator, tokenizer,
                  evaluation, callbacks: list) -> Trainer:
    """``evaluation``: the task's TrainerEvaluation (balora.tasks.base): metric, its direction and how
    the Trainer computes it."""
    trainer = LengthGroupedTrainer(
        model=model,
        args=training_arguments(config, output_dir, evaluation.metric, len(datasets["train"]),
                                evaluation.greater_is_better),
        train_dataset=datasets["train"],
        eval_dataset=datasets["validation"],
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=evaluation.compute_metrics,
        preprocess_logits_for_metrics=evaluation.preprocess_logits_for_metrics,
        callbacks=callbacks,
    )
    if config.eval_steps:
        trainer.add_callback(EvaluateAtLastStep)
    keep_tensorboard_logs(trainer, output_dir.parent / "tensorboard")
    trainer.remove_callback(PrinterCallback)
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(QuietProgress)
    return trainer
