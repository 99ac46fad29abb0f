"""AdaLoRA through the whole pipeline on the tiny model."""

import json

import torch
from peft.tuners.adalora import AdaLoraModel

from balora.methods.adalora.callback import AdaLoraRankUpdate
from helpers import interrupt_then_resume, reload_with_plain_peft, run_train

# Tiny BERT: 4 query/value matrices of 32x32; one AdaLoRA rank costs 32 + 32 + 1 = 65.
SETTINGS = {"adalora_init_r": 6, "adalora_target_r": 2}


def adalora(tmp_path, data_dir, model_dir, **settings):
    return run_train(tmp_path, data_dir, model_dir, peft_method="adalora", epochs=3,
                     method_settings={**SETTINGS, **settings})


def history(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "rank_history.jsonl").read_text().splitlines()]


def test_masks_change_and_the_final_pattern_is_reached_at_the_scheduled_step(tmp_path, tiny_data_dir,
                                                                               tiny_model_dir):
    results = adalora(tmp_path, tiny_data_dir, tiny_model_dir)
    schedule = results.method_summary["schedule"]
    assert schedule["total_step"] == results.timing.optimizer_steps == 27  # 72 examples / 8, 3 epochs
    entries = history(tmp_path / "tiny")
    assert entries[0] == {"step": 0, "total_rank": 24, "ranks": entries[0]["ranks"]}
    totals = [entry["total_rank"] for entry in entries]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) > 2  # the budget shrinks step by step
    final = [entry for entry in entries if entry.get("final")]
    assert [entry["step"] for entry in final] == [schedule["total_step"] - schedule["tfinal"]]
    assert final[0]["total_rank"] == 4 * 2  # target_r x modules
    assert entries[-1] is final[0]  # nothing reallocated after it
    final_ranks = results.method_summary["final_rank_pattern"]
    assert final_ranks == final[0]["ranks"]
    assert results.parameters.adapter == 8 * 65 and results.parameters.peak_adapter == 24 * 65


def test_only_an_epoch_with_the_final_ranks_is_kept(tmp_path, tiny_data_dir, tiny_model_dir):
    # The final pattern is fixed at step 22 of 27: epochs 1 and 2 (steps 9, 18) still hold more ranks.
    results = adalora(tmp_path, tiny_data_dir, tiny_model_dir)
    assert results.best_epoch == 3


def test_adapter_reloads_through_peft_adalora_and_reproduces_predictions(tmp_path, tiny_data_dir, tiny_model_dir):
    results = adalora(tmp_path, tiny_data_dir, tiny_model_dir)
    model = reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
    assert isinstance(model.base_model, AdaLoraModel)
    kept = {name.split(".lora_E")[0].removeprefix("base_model.model."): param.shape[0]
            for name, param in model.named_parameters() if ".lora_E." in name}
    assert kept == results.method_summary["final_rank_pattern"]


def test_update_runs_after_the_optimizer_step_and_before_gradients_are_zeroed(tmp_path, tiny_data_dir,
                                                                              tiny_model_dir, monkeypatch):
    seen = []
    snapshot = {}

    def before_step(self, args, state, control, model=None, **kwargs):
        lora_a = next(p for n, p in model.named_parameters() if ".lora_A." in n)
        snapshot["value"], snapshot["param"] = lora_a.detach().clone(), lora_a

    real_update = AdaLoraModel.update_and_allocate

    def spy(self, global_step):
        param = snapshot["param"]
        seen.append((global_step, param.grad is not None, not torch.equal(param.detach(), snapshot["value"])))
        return real_update(self, global_step)

    monkeypatch.setattr(AdaLoraRankUpdate, "on_pre_optimizer_step", before_step, raising=False)
    monkeypatch.setattr(AdaLoraModel, "update_and_allocate", spy)
    adalora(tmp_path, tiny_data_dir, tiny_model_dir)
    assert [step for step, _, _ in seen] == list(range(1, 28))  # once per optimizer step, counted from 1
    assert all(has_grad for _, has_grad, _ in seen)  # gradients not yet zeroed
    # The optimizer has already updated the weights (step 1 runs at learning rate 0: warm-up starts there).
    assert [step for step, _, stepped in seen if not stepped] == [1]


def test_param_budget_sets_target_r(tmp_path, tiny_data_dir, tiny_model_dir):
    results = adalora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=3 * 4 * 65)
    assert results.method_summary["target_r"] == 3
    assert results.parameters.adapter == 3 * 4 * 65


def test_interrupted_run_resumes_with_adalora_state(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    straight = adalora(tmp_path / "straight", tiny_data_dir, tiny_model_dir)
    results = interrupt_then_resume(monkeypatch, 1.2, tmp_path / "resumed", tiny_data_dir, tiny_model_dir,
                                    peft_method="adalora", epochs=3, method_settings=SETTINGS)
    assert results.method_summary["final_rank_pattern"] == straight.method_summary["final_rank_pattern"]
    assert results.parameters == straight.parameters
