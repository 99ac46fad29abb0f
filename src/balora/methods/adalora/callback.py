"""The Trainer callback that drives AdaLoRA's rank reallocation."""

from __future__ import annotations

from collections.abc import Callable

from transformers import TrainerCallback

from balora.methods.adalora.schedule import AdaLoraSchedule, adalora_schedule


def ranks_from_pattern(rank_pattern: dict[str, list[bool]]) -> dict[str, int]:
    """PEFT's rank pattern (lora_E parameter name -> kept-triplet mask) as module name -> rank."""
    return {key.split(".lora_E")[0]: int(sum(mask)) for key, mask in rank_pattern.items()}


class AdaLoraRankUpdate(TrainerCallback):
    """Calls ``update_and_allocate`` after every optimizer step and records every reallocation.

    AdaLoRA scores each singular triplet by |w * dL/dw|, so it must run after the optimizer step
    (the step is done) and before gradients are zeroed (the scores need them): the Trainer's
    ``on_optimizer_step`` event is exactly that moment. Steps are counted from 1, so the last
    optimizer step is ``total_step`` and the final pattern is fixed at ``total_step - tfinal``.

    Checkpoints hold every init_r triplet (masked ones can come back until the final step), so
    PEFT's rank pattern, which would slice them on save, is set aside while the Trainer saves
    and written beside the checkpoint with the importance estimates, for --resume.
    """

    def __init__(self, schedule: AdaLoraSchedule, requested: tuple, record: Callable[[str, dict], None],
                 say: Callable[[str], None], resumed_state: dict | None = None):
        self.schedule = schedule
        self.resumed_state = resumed_state  # resume_state() as it was when the resumed checkpoint was saved
        self.requested = requested  # (tinit, tfinal, delta_t) as the user gave them (None = default)
        self.record = record
        self.say = say
        self.set_aside = None  # (rank_pattern,) while the Trainer saves a checkpoint

    def _config(self, model):
        adalora = model.base_model
        return adalora.peft_config[adalora.trainable_adapter_name]

    def _set_aside_pattern(self, state, control, model) -> None:
        if control.should_save and self.set_aside is None:
            config = self._config(model)
            self.set_aside, config.rank_pattern = (config.rank_pattern,), None

    def _restore_pattern(self, model) -> None:
        if self.set_aside is not None:
            self._config(model).rank_pattern, self.set_aside = self.set_aside[0], None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.max_steps != self.schedule.total_step:  # e.g. another process count than estimated
            self.schedule = adalora_schedule(state.max_steps, *self.requested)
            self.say(f"AdaLoRA schedule recomputed for {state.max_steps} optimizer steps")
        config = self._config(model)
        config.total_step, config.tinit = self.schedule.total_step, self.schedule.tinit
        config.tfinal, config.deltaT = self.schedule.tfinal, self.schedule.delta_t
        if state.global_step > 0 and self.resumed_state is not None:  # resuming: AdaLoRA's own state, as it was
            allocator = model.base_model.rankallocator
            config.rank_pattern = self.resumed_state["rank_pattern"]
            for name in ("ipt", "exp_avg_ipt", "exp_avg_unc"):
                setattr(allocator, name, self.resumed_state[name])
        if state.global_step == 0:
            ranks = {name.split(".lora_E")[0]: param.shape[0]
                     for name, param in model.base_model.model.named_parameters() if ".lora_E." in name}
            self.record("rank_history.jsonl", {"step": 0, "total_rank": sum(ranks.values()), "ranks": ranks})

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        step = state.global_step + 1  # this optimizer step, counted from 1
        model.base_model.update_and_allocate(step)
        s = self.schedule
        if step == s.final_step or (s.tinit < step < s.final_step and step % s.delta_t == 0):
            ranks = ranks_from_pattern(self._config(model).rank_pattern)
            self.record("rank_history.jsonl", {"step": step, "total_rank": sum(ranks.values()), "ranks": ranks,
                                               "final": step == s.final_step})

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._set_aside_pattern(state, control, model)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        self._set_aside_pattern(state, control, model)

    def resume_state(self, model) -> dict:
        """AdaLoRA's own state (the pipeline keeps it with each checkpoint): the rank pattern and
        the importance estimates, which the Trainer's checkpoint does not hold."""
        allocator = model.base_model.rankallocator
        pattern = self.set_aside[0] if self.set_aside is not None else self._config(model).rank_pattern
        return {"rank_pattern": pattern, "ipt": allocator.ipt, "exp_avg_ipt": allocator.exp_avg_ipt,
                "exp_avg_unc": allocator.exp_avg_unc}

    def on_save(self, args, state, control, model=None, **kwargs):
        # After the last save the Trainer reloads the best checkpoint, which holds all init_r
        # triplets: the pattern comes back once that is done (on_train_end).
        if state.global_step < state.max_steps:
            self._restore_pattern(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._restore_pattern(model)

    def on_evaluate(self, args, state, control, **kwargs):
        # Only an epoch trained with the final ranks may be kept as the best: an earlier one still
        # holds an intermediate mask, i.e. more parameters than the budget. A best metric no
        # evaluation can beat blocks the Trainer from keeping it.
        if state.global_step < self.schedule.final_step:
            state.best_metric = float("inf") if args.greater_is_better else float("-inf")
        elif state.best_global_step is None or state.best_global_step < self.schedule.final_step:
            state.best_metric = None
