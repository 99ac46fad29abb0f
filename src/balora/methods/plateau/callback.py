"""The Trainer callback that watches the validation loss and grows the LoRA rank on a plateau."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils.data import DataLoader
from transformers import TrainerCallback

from balora.counting import count_parameters
from balora.methods.plateau.config import PlateauOptions
from balora.methods.plateau.growth import set_model_rank
from balora.training.callbacks import read_method_state



def validation_loss(model, dataset, collator, batch_size: int) -> float:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
            batch = {key: value.to(device) for key, value in batch.items()}
            size = len(batch["labels"])
            total += model(**batch).loss.item() * size
            count += size
    model.train(was_training)
    return total / count


class PlateauGrowth(TrainerCallback):
    """Every ``check_steps`` optimizer steps (--eval_steps): measure the validation loss; after
    ``patience`` checks without a new best, add ``rank_step`` ranks to every module (up to ``max_rank``).

    It runs at the end of a step, after the optimizer step and the zeroing of gradients, so the
    grown parameters have no stale gradient and the optimizer sees them at its next step.
    """

    def __init__(self, options: PlateauOptions, check_steps: int, state: dict, validation, collator, head_modules,
                 record: Callable[[str, dict], None], say: Callable[[str], None], seed: int):
        self.options, self.check_steps, self.validation, self.collator = options, check_steps, validation, collator
        self.head_modules, self.record, self.say, self.seed = head_modules, record, say, seed
        self.state = state  # rank, best_loss, checks_without_improvement, peak_adapter, growths

    def on_step_end(self, args, state, control, model=None, optimizer=None, **kwargs):
        if state.global_step % self.check_steps:
            return
        loss = validation_loss(model, self.validation, self.collator, args.per_device_eval_batch_size)
        if not math.isfinite(loss):
            return  # LossWatch reports non-finite training losses; a NaN check must not look like a plateau
        s = self.state
        if loss < s["best_loss"]:
            s["best_loss"], s["checks_without_improvement"] = loss, 0
            return
        s["checks_without_improvement"] += 1
        if s["checks_without_improvement"] < self.options.plateau_patience or s["rank"] >= self.options.plateau_max_rank:
            return
        new_rank = min(s["rank"] + self.options.plateau_rank_step, self.options.plateau_max_rank)
        set_model_rank(model, new_rank, optimizer, seed=self.seed + state.global_step)
        adapter = count_parameters(model, self.head_modules).adapter
        growth = {"step": state.global_step, "validation_loss": loss, "best_loss": s["best_loss"],
                  "old_rank": s["rank"], "new_rank": new_rank, "adapter_parameters": adapter}
        s.update(rank=new_rank, checks_without_improvement=0, peak_adapter=max(s["peak_adapter"], adapter))
        s["growths"].append(growth)
        self.record("rank_growth.jsonl", growth)
        self.say(f"Step {state.global_step}: validation loss {loss:.4f} has not beaten {s['best_loss']:.4f} for "
                 f"{self.options.plateau_patience} checks; rank {growth['old_rank']} -> {new_rank} "
                 f"({adapter:,} adapter parameters)")

    def on_save(self, args, state, control, model=None, **kwargs):
        # The pipeline has saved self.state with the checkpoint (MethodState). The Trainer reloads
        # the best checkpoint after the last save: the model must have its rank.
        best = state.best_model_checkpoint
        kept = read_method_state(best) if state.global_step >= state.max_steps and best else None
        if kept is not None:
            best_rank = kept["rank"]
            if best_rank != self.state["rank"]:
                set_model_rank(model, best_rank)
                self.say(f"Best checkpoint was trained at rank {best_rank}: the final adapter has that rank")
