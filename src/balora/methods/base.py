"""The small interface through which a fine-tuning method plugs into the pipeline.

A method is data: a name, the dataclasses holding its flags, and a ``prepare`` function that
turns the loaded model into the model to train (freezing, wrapping in PEFT, running any phase
that must happen before training). Anything it needs during training goes in as Trainer
callbacks, so the training loop never asks which method it is running.

The registry holds methods by name without importing torch or PEFT: ``prepare`` is named as
``"module:function"`` and imported on first use, so `balora --help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from balora.config import TrainConfig
    from balora.counting import ParameterCounts


@dataclass
class MethodContext:
    """What a method may use while preparing the model."""

    config: TrainConfig
    options: dict[type, Any]  # the method's option dataclasses, by class
    head_modules: list[str]
    train_dataset: Any  # tokenised training split
    collator: Callable
    say: Callable[[str], None]  # print a line to the console and the training log
    validation_dataset: Any = None  # tokenised validation split
    record: Callable[[str, dict], None] = lambda file_name, entry: None  # append a JSON line to a file of the experiment
    # What PreparedModel.resume_state returned when the checkpoint training resumes from was saved
    # (None on a fresh start): the one way a method carries state across an interruption.
    resumed_state: Any = None
    dry_run: bool = False  # build the model to count it (`balora count`): no data, no gradient passes

    def option(self, cls: type):
        return self.options[cls]


@dataclass(frozen=True)
class AfterTraining:
    """The counts of the trained model and the method's summary fields that only training decides."""

    counts: ParameterCounts
    summary: dict[str, Any] = field(default_factory=dict)  # added to results_final.json's method_summary


@dataclass
class PreparedModel:
    model: nn.Module
    callbacks: list = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)  # file name -> JSON written to the experiment folder
    phase_seconds: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # extra fields for results_final.json
    # What training made of the model, when its trainable parameters are not what it keeps:
    # AdaLoRA saves only its unmasked ranks, and a growing adapter peaks above its starting size.
    after_training: Callable[[nn.Module], AfterTraining] | None = None
    # What a run will report, from the counts of the model as prepared (`balora count`): AdaLoRA
    # keeps about target_r of the init_r ranks it holds; a growing adapter may reach its maximum.
    planned_counts: Callable[[ParameterCounts], ParameterCounts] | None = None
    # Writes the trained adapter (+ head) to a folder, for methods whose trained weights are not
    # what a plain reload needs: PiSSA and LoRA-GA changed the base weights, so they save the
    # difference to their initial adapter as a plain LoRA adapter on the unmodified base.
    save: Callable[[nn.Module, str], None] | None = None
    # What to keep for --resume (plain values and tensors), called whenever the Trainer saves a
    # checkpoint; the pipeline stores it with the checkpoint and hands it back to ``prepare``.
    resume_state: Callable[[], Any] | None = None
    # Lines `balora count` prints about what the method chose for this model (a budget knob's value).
    count_notes: list[str] = field(default_factory=list)

    def save_model(self, model: nn.Module, directory: str) -> None:
        """The trained model as `peft.PeftModel.from_pretrained` (or transformers, for full
        fine-tuning) reloads it on the unmodified base model."""
        if self.save is not None:
            self.save(model, directory)
        else:
            model.save_pretrained(directory)


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    option_classes: tuple[type, ...]
    prepare_function: str  # "module:function" taking (model, MethodContext) -> PreparedModel
    # (budget, adapter parameters of rank 1 on every target) -> settings that match the method to
    # the budget, for studies; None for methods with no budget to match (full, partial). The first
    # setting carries the budget; any further ones are defaults a study file may override.
    budget_settings: Callable[[int, int], dict] | None = None
    # What a shared flag does for this method, where that differs from the flag's own help.
    flag_help: dict[str, str] = field(default_factory=dict, compare=False)
    # --learning_rate when none is given, where the shared default (config.DEFAULT_LEARNING_RATE)
    # does not suit the method; its flag_help says why.
    default_learning_rate: float | None = None
    # Flags whose value is the rank of a target module (at the start or at most): each is refused
    # above the smaller dimension of the target matrices, where a rank adds nothing.
    rank_flags: tuple[str, ...] = ()
    # "module:function" taking (TrainConfig, options, causal_lm: bool): checks that need the method's
    # library but no loaded model or data (a PEFT config's fields), run before anything loads.
    check_function: str | None = None
    # Flag -> why this method cannot take it (a limitation of the library it runs on), said in the
    # one-line refusal of the flag: PEFT refuses to start PiSSA or LoRA-GA on a 4-bit base.
    refused_flags: dict[str, str] = field(default_factory=dict, compare=False)

    def check(self, config: TrainConfig, options: dict[type, Any], causal_lm: bool) -> None:
        if self.check_function is not None:
            module, function = self.check_function.split(":")
            getattr(importlib.import_module(module), function)(config, options, causal_lm)

    def prepare(self, model: nn.Module, ctx: MethodContext) -> PreparedModel:
        module, function = self.prepare_function.split(":")
        return getattr(importlib.import_module(module), function)(model, ctx)
