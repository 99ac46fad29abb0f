"""Trainer callbacks the pipeline adds for every method."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from balora.errors import TrainingFailure
from balora.record_sections import ProcessPeak
from balora.results import CHECKPOINT_COMPLETE_FILE, atomic_write_text
from balora.signals import interrupt_received


class NonFiniteLoss(TrainingFailure):
    pass


class LossWatch(TrainerCallback):
    """Checks every training loss as the model computes it and keeps the epoch's mean.

    The Trainer averages losses between log steps and by default filters NaN/inf out of its
    logs, so a diverged run would otherwise end with silently meaningless metrics. A forward
    hook sees each micro-batch's loss the moment it exists.
    """

    def __init__(self, method: str):
        self.method = method
        self.clipping = True  # whether gradients are clipped (--max_grad_norm > 0): shapes the advice
        self.state = None
        self.handle = None
        self.loss_sum = 0.0
        self.loss_count = 0

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.state = state
        self.clipping = bool(args.max_grad_norm)
        if self.handle is None and model is not None:
            self.handle = model.register_forward_hook(self._check)

    def on_train_end(self, args, state, control, **kwargs):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None

    def on_epoch_begin(self, args, state, control, **kwargs):
        if args.eval_strategy == "epoch":  # a resumed epoch starts a fresh mean; step windows span epochs
            self.loss_sum, self.loss_count = 0.0, 0

    def take_mean(self) -> float | None:
        """Mean training loss since the previous evaluation (or the epoch's start); starts a new window."""
        mean = self.loss_sum / self.loss_count if self.loss_count else None
        self.loss_sum, self.loss_count = 0.0, 0
        return mean

    def _check(self, module, inputs, output):
        loss = getattr(output, "loss", None)
        if not module.training or loss is None:
            return
        value = loss.detach().float().item()
        if not math.isfinite(value):
            step = self.state.global_step + 1 if self.state else "?"
            epoch = f"{self.state.epoch:.2f}" if self.state and self.state.epoch is not None else "?"
            advice = ("a lower --learning_rate or a larger --warmup_ratio" if self.clipping
                      else "--max_grad_norm 1.0 (clipping is off), a lower --learning_rate or a larger --warmup_ratio")
            raise NonFiniteLoss(f"non-finite training loss ({value}) at step {step} (epoch {epoch}) with method "
                                f"{self.method}; try {advice}")
        self.loss_sum += value
        self.loss_count += 1


class EpochReport(TrainerCallback):
    """Prints one line per evaluation (every epoch, or every --eval_steps steps) and records the
    curve in metrics.jsonl."""

    def __init__(self, say, record, loss_watch: LossWatch, metric: str):
        self.say, self.record, self.loss_watch, self.metric = say, record, loss_watch, metric

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        grad_norm = logs.get("grad_norm")
        if grad_norm is not None and not math.isfinite(float(grad_norm)):
            self.say(f"WARNING: non-finite gradient norm ({grad_norm}) at step {state.global_step}; "
                     "the step was clipped or skipped")
        self.record({"type": "train", "step": state.global_step, "epoch": state.epoch,
                     **{k: v for k, v in logs.items() if isinstance(v, (int, float))}})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not state.is_world_process_zero or not metrics or state.epoch is None:
            return
        train_loss = self.loss_watch.take_mean()
        self.record({"type": "eval", "split": "validation", "step": state.global_step, "epoch": state.epoch,
                     "train_loss": train_loss, **{k.removeprefix("eval_"): v for k, v in metrics.items()}})
        parts = [f"Loss: {train_loss:.4f}" if train_loss is not None else None,
                 f"Val loss: {metrics['eval_loss']:.4f}" if "eval_loss" in metrics else None,
                 f"Accuracy: {100 * metrics['eval_accuracy']:.1f}%" if "eval_accuracy" in metrics else None]
        if self.metric != "accuracy" and f"eval_{self.metric}" in metrics:
            parts.append(f"{self.metric.replace('_', ' ').title()}: {metrics[f'eval_{self.metric}']:.4f}")
        if args.eval_strategy == "steps":
            where = f"Step {state.global_step}/{state.max_steps} (epoch {state.epoch:.2f})"
        else:
            where = f"Epoch {round(state.epoch)}/{round(args.num_train_epochs)}"
        self.say(f"{where}: " + ", ".join(p for p in parts if p))


class EvaluateAtLastStep(TrainerCallback):
    """With --eval_steps, also evaluate (and save) after the last step: a run whose length is not a
    multiple of N still ends on a measured point, and one shorter than N is evaluated at all."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = control.should_save = True


class TrainingClock(TrainerCallback):
    """Seconds spent training, and in the whole run, across interruptions: each checkpoint records
    the totals so far, and a resumed run starts its clocks from the checkpoint it resumes (time
    spent after that checkpoint, before the interrupt, is redone and counted once)."""

    FILE = "balora_training_seconds.json"

    def __init__(self, resume_checkpoint: str | None, run_started: float):
        """``run_started``: time.perf_counter() when this process began the run."""
        saved = {}
        if resume_checkpoint and (Path(resume_checkpoint) / self.FILE).exists():
            saved = json.loads((Path(resume_checkpoint) / self.FILE).read_text())
        self.earlier = saved.get("seconds", 0.0)
        self.earlier_total = saved.get("total_seconds", 0.0)  # absent in checkpoints of older versions
        self.run_started = run_started
        self.started = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return self.earlier + (time.perf_counter() - self.started if self.started is not None else 0.0)

    def total_seconds(self) -> float:
        return self.earlier_total + time.perf_counter() - self.run_started

    def on_save(self, args, state, control, **kwargs):
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and checkpoint.is_dir():
            atomic_write_text(checkpoint / self.FILE, json.dumps({"seconds": self.seconds(),
                                                                  "total_seconds": self.total_seconds()}))


class StopOnSignal(TrainerCallback):
    """Ends training once Ctrl-C or SIGTERM arrived (balora.signals defers the signal while the
    Trainer runs): the step in progress ends and is saved as a checkpoint for --resume, and the
    interrupt is raised once that checkpoint is complete, so that the Trainer's end-of-training
    clean-up (which deletes all but the best checkpoint) never runs. Callbacks listed before this
    one have saved their part of the checkpoint by then."""

    def on_step_end(self, args, state, control, **kwargs):
        # At an epoch's last step the epoch's own evaluation and save follow: let them.
        ends_epoch = (args.eval_strategy == "epoch" and state.epoch is not None
                      and abs(state.epoch - round(state.epoch)) < 1e-6)
        if interrupt_received() and not ends_epoch:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        if interrupt_received():
            raise KeyboardInterrupt


class MemoryPeaks(TrainerCallback):
    """Peak memory across interruptions: each checkpoint records the peaks so far, and a resumed
    run reports the larger of those and its own (a resumed process alone may hold far less)."""

    FILE = "balora_peak_memory.json"

    def __init__(self, resume_checkpoint: str | None):
        saved = Path(resume_checkpoint) / self.FILE if resume_checkpoint else None
        self.earlier = json.loads(saved.read_text()) if saved is not None and saved.exists() else {}
        self.tracker = None  # the PeakMemory of this process's training, once it started

    def training_peak(self, report: dict) -> dict:
        earlier = self.earlier.get("training")
        if earlier and earlier.get("measure") == report["measure"] and earlier["peak_bytes"] > report["peak_bytes"]:
            return {**report, "peak_bytes": earlier["peak_bytes"]}
        return report

    def process_peaks(self) -> ProcessPeak:
        earlier = self.earlier.get("process", {})
        return ProcessPeak(**{name: max(value, earlier.get(name) or 0.0)
                              for name, value in peak_memory_mb().as_dict().items()})

    def on_save(self, args, state, control, **kwargs):
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and checkpoint.is_dir() and self.tracker is not None:
            atomic_write_text(checkpoint / self.FILE, json.dumps({"training": self.training_peak(self.tracker.so_far()),
                                                                  "process": self.process_peaks().as_dict()}))


class QuietProgress(ProgressCallback):
    """Progress bars without the Trainer's raw log dicts in between (EpochReport prints those)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


def peak_memory_mb() -> ProcessPeak:
    """The process's high-water marks so far (results_final.json's peak_memory)."""
    import resource

    return ProcessPeak(cpu_max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                       cuda_max_allocated_mb=torch.cuda.max_memory_allocated() / 2**20
                       if torch.cuda.is_available() else None)


METHOD_STATE_FILE = "balora_method_state.pt"


def read_method_state(checkpoint: str | Path | None):
    """What a method kept for --resume when ``checkpoint`` was saved (None: nothing kept, or no checkpoint)."""
    saved = Path(checkpoint) / METHOD_STATE_FILE if checkpoint else None
    return torch.load(saved, weights_only=True) if saved is not None and saved.exists() else None


class MethodState(TrainerCallback):
    """The one way a method keeps state for --resume: whenever the Trainer saves a checkpoint,
    what the method's ``resume_state()`` returns (plain values and tensors) is saved with it, and
    a resumed run's ``prepare`` gets it back (MethodContext.resumed_state). It runs before the
    method's own callbacks, so they may read the checkpoint being saved."""

    def __init__(self, resume_state):
        self.resume_state = resume_state

    def on_save(self, args, state, control, **kwargs):
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not (state.is_world_process_zero and checkpoint.is_dir()):
            return
        if self.resume_state is not None:
            torch.save(self.resume_state(), checkpoint / METHOD_STATE_FILE)
        # last: --resume takes only checkpoints saved to the end (a kill mid-save leaves no marker)
        (checkpoint / CHECKPOINT_COMPLETE_FILE).touch()
