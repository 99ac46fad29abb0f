"""BA-LoRA through the whole pipeline on the tiny model."""

import json

import pytest

from balora.errors import UserError
from balora.methods.ba_lora.config import BaLoraOptions
from helpers import interrupt_training_after, reload_with_plain_peft, run_train

# Tiny BERT: hidden 32, 2 layers; query/value matrices cost 64 per rank, 4 of them.
UNIFORM_R8 = 4 * 8 * 64


def ba_lora(tmp_path, data_dir, model_dir, **method_settings):
    settings = {"ba_lora_gradient_samples": 40, **method_settings}
    return run_train(tmp_path, data_dir, model_dir, peft_method="ba_lora", method_settings=settings)


def test_default_budget_is_uniform_lora_at_the_base_rank_and_is_spent_exactly(tmp_path, tiny_data_dir,
                                                                              tiny_model_dir):
    results = ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, ba_lora_use_warmstart=True)
    folder = tmp_path / "tiny"
    allocation = json.loads((folder / "rank_allocation.json").read_text())
    assert allocation["budget"] == UNIFORM_R8 and allocation["allocated"] == UNIFORM_R8
    assert results.parameters.adapter == allocation["allocated"]
    assert {"importance_seconds", "allocation_seconds", "warmstart_seconds", "train_seconds"} <= set(results.timing.as_dict())
    importance = json.loads((folder / "importance.json").read_text())
    assert importance["num_examples"] == 40 and len(importance["sample_indices"]) == 40
    log = (folder / "training_log.txt").read_text()
    for phase in ("[Phase 1/4] Importance", "[Phase 2/4] Allocation", "[Phase 3/4] Warm start",
                  "[Phase 4/4] Train", "Layer 0: ranks [", f"Total parameters: {UNIFORM_R8:,} (budget {UNIFORM_R8:,})"):
        assert phase in log
    # The warm start either initialised every adapted module and lowered the calibration loss, or
    # fell back to zero init and says why; never a partial or silent outcome.
    warm = results.method_summary["warm_start"]
    assert warm["requested"] is True
    if warm["fallback_reason"] is None:
        assert warm["modules_initialised"] == 4  # 2 layers x query, value
        assert warm["calibration_loss_after"] < warm["calibration_loss_before"]
    else:
        assert warm["modules_initialised"] == 0 and "WARNING: No gradients available for warm-start" in log


def test_saved_adapter_is_plain_peft_with_per_module_ranks_and_reproduces_predictions(tmp_path, tiny_data_dir,
                                                                                      tiny_model_dir):
    ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=1100, ba_lora_use_warmstart=True)
    ranks = {name: entry["rank"] for name, entry in
             json.loads((tmp_path / "tiny" / "rank_allocation.json").read_text())["modules"].items()}
    assert len(set(ranks.values())) > 1  # 1100 is no multiple of a uniform rank's cost
    model = reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)
    modules = dict(model.base_model.model.named_modules())
    assert {name: modules[name].r["default"] for name in ranks} == ranks


def test_rank_zero_modules_are_left_out_of_the_targets(tmp_path, tiny_data_dir, tiny_model_dir):
    results = ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=64 * 3, ba_lora_min_rank=0,
                      ba_lora_max_rank=3)
    pattern = results.method_summary["rank_pattern"]
    assert 0 in pattern.values()
    adapter = json.loads((tmp_path / "tiny" / "model_checkpoint" / "adapter_config.json").read_text())
    zero = [name for name, rank in pattern.items() if rank == 0]
    assert not any(name in adapter["target_modules"] for name in zero)
    assert results.parameters.adapter == 64 * 3


def test_uniform_ranks_ablation_uses_equal_ranks(tmp_path, tiny_data_dir, tiny_model_dir):
    results = ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, ba_lora_use_uniform_ranks=True)
    assert set(results.method_summary["rank_pattern"].values()) == {8}


def test_budget_below_the_minimum_fails_before_anything_is_written(tmp_path, tiny_data_dir, tiny_model_dir):
    with pytest.raises(UserError, match="below the minimum any assignment needs: 1,024"):
        ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=1000, ba_lora_min_rank=4)
    assert not (tmp_path / "tiny").exists()


def test_budget_that_adapts_no_module_fails_before_anything_is_written(tmp_path, tiny_data_dir, tiny_model_dir):
    # Every module at rank 0 is an exact allocation of 63 but leaves PEFT nothing to target.
    with pytest.raises(UserError, match="cannot give any module even rank 1 .the cheapest module costs 64"):
        ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=63, ba_lora_min_rank=0)
    assert not (tmp_path / "tiny").exists()


def test_default_minimum_rank_is_at_least_one():
    assert BaLoraOptions(ba_lora_base_rank=1).min_rank == 1
    assert BaLoraOptions(ba_lora_base_rank=8).min_rank == 4
    assert BaLoraOptions(ba_lora_base_rank=8, ba_lora_min_rank=0).min_rank == 0


def test_resume_reuses_the_saved_allocation_and_reports_the_phases_that_ran_before(tmp_path, tiny_data_dir,
                                                                                   tiny_model_dir, monkeypatch):
    settings = {"ba_lora_gradient_samples": 40, "param_budget": 1100, "ba_lora_use_warmstart": True}
    restore = interrupt_training_after(monkeypatch, 1.2)
    with pytest.raises(KeyboardInterrupt):
        ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, **settings)
    saved = json.loads((tmp_path / "tiny" / "rank_allocation.json").read_text())
    restore()
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="ba_lora", resume=True,
                        method_settings=settings)
    assert results.method_summary["rank_pattern"] == {n: e["rank"] for n, e in saved["modules"].items()}
    assert "rank allocation kept with the checkpoint" in (tmp_path / "tiny" / "training_log.txt").read_text()
    assert results.parameters.adapter == saved["allocated"]
    # phases 1-3 ran before the interruption: their cost and outcome stay in the results
    for phase in ("importance_seconds", "allocation_seconds", "warmstart_seconds"):
        assert results.timing.phase(phase) == saved["phase_seconds"][phase] > 0
    assert results.method_summary["warm_start"] == saved["warm_start"]
    assert saved["warm_start"]["requested"] and saved["warm_start"]["fallback_reason"] != "not requested"


def test_spectrum_allocates_by_the_recorded_singular_values_and_spends_the_budget(tmp_path, tiny_data_dir,
                                                                                 tiny_model_dir):
    from balora.spectral_allocation import allocate_by_gains, gains_from_singular_values

    results = ba_lora(tmp_path, tiny_data_dir, tiny_model_dir, param_budget=1100, ba_lora_importance="spectrum",
                      ba_lora_use_warmstart=True, ba_lora_warmstart_basis="gradient", ba_lora_gradient_batch_size=7)
    folder = tmp_path / "tiny"
    importance = json.loads((folder / "importance.json").read_text())
    allocation = json.loads((folder / "rank_allocation.json").read_text())
    assert importance["gradient_batch_size"] == 7 and allocation["importance_measure"] == "spectrum"
    spectra = importance["singular_values"]
    low, high = allocation["min_rank"], allocation["max_rank"]
    assert (low, high) == (4, 32) and set(spectra) == set(allocation["modules"])
    assert all(len(values) == 32 for values in spectra.values())  # 32 x 32 matrices: every singular value
    for name, values in spectra.items():  # ||G||_F^2 is the module's score: its spectrum's whole energy
        assert importance["scores"][name] == pytest.approx(sum(v * v for v in values), rel=1e-6)
    shapes = {name: tuple(entry["shape"]) for name, entry in allocation["modules"].items()}
    gains = {name: gains_from_singular_values(values, high) for name, values in spectra.items()}
    expected = allocate_by_gains(shapes, gains, 1100, low, high)
    assert results.method_summary["rank_pattern"] == expected.ranks
    assert results.parameters.adapter == allocation["allocated"] == expected.allocated == 1088
