"""Ranks read back from saved PEFT adapters, and every figure of `balora compare` written."""

from __future__ import annotations

import pytest

from balora.analysis.compare import compare
from balora.analysis.collect import groups_from_names
from balora.analysis.ranks import adapter_ranks, layer_and_kind, rank_grid
from balora.errors import UserError
from analysis.fake_runs import fake_run
from conftest import tiny_bert

PNG = b"\x89PNG\r\n\x1a\n"


def save_lora(path, rank_pattern=None):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=2, target_modules=["query", "value"], rank_pattern=rank_pattern or {})
    get_peft_model(tiny_bert(), config).save_pretrained(path)
    return path


def save_adalora(path):
    from peft import AdaLoraConfig, get_peft_model

    model = get_peft_model(tiny_bert(), AdaLoraConfig(init_r=4, target_r=2, target_modules=["query", "value"],
                                                      total_step=10))
    # The final masks, as update_and_allocate leaves them: layer 0 query keeps 1, everything else 3.
    modules = [f"bert.encoder.layer.{i}.attention.self.{kind}" for i in (0, 1) for kind in ("query", "value")]
    kept = {module: 1 if module == modules[0] else 3 for module in modules}
    model.peft_config["default"].rank_pattern = {f"{m}.lora_E": [True] * k + [False] * (4 - k) for m, k in kept.items()}
    model.save_pretrained(path)
    return path


def test_lora_ranks_per_module(tmp_path):
    path = save_lora(tmp_path / "lora", rank_pattern={r"^bert\.encoder\.layer\.1\.attention\.self\.value$": 5})
    ranks = adapter_ranks(path)
    assert ranks == {"final": {"bert.encoder.layer.0.attention.self.query": 2,
                               "bert.encoder.layer.0.attention.self.value": 2,
                               "bert.encoder.layer.1.attention.self.query": 2,
                               "bert.encoder.layer.1.attention.self.value": 5}}
    grid = rank_grid(ranks["final"])
    assert list(grid.columns) == ["query", "value"] and grid.loc[1, "value"] == 5 and grid.loc[0, "query"] == 2


def test_adalora_initial_and_final_ranks(tmp_path):
    ranks = adapter_ranks(save_adalora(tmp_path / "adalora"))
    assert set(ranks["initial"].values()) == {4}
    assert ranks["final"]["bert.encoder.layer.0.attention.self.query"] == 1
    assert sorted(ranks["final"].values()) == [1, 3, 3, 3]


def test_layer_and_kind_and_ambiguous_short_names():
    assert layer_and_kind("model.layers.11.self_attn.q_proj") == (11, "self_attn.q_proj")
    grid = rank_grid({"bert.encoder.layer.0.attention.output.dense": 2, "bert.encoder.layer.0.output.dense": 3})
    assert list(grid.columns) == ["attn.output.dense", "output.dense"]


def test_not_an_adapter_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="no PEFT adapter there"):
        adapter_ranks(tmp_path)


def test_compare_writes_every_file(tmp_path):
    names = []
    for seed in (42, 43):
        names.append(fake_run(tmp_path, f"lora_s{seed}", "lora", seed, 0.80 + seed / 1000, lora_r=2).name)
        names.append(fake_run(tmp_path, f"ba_s{seed}", "ba_lora", seed, 0.81, param_budget=73728).name)
        names.append(fake_run(tmp_path, f"ada_s{seed}", "adalora", seed, 0.7, param_budget=73728).name)
    save_lora(tmp_path / "ba_s42" / "model_checkpoint", {r"^bert\.encoder\.layer\.0\.attention\.self\.query$": 4})
    save_lora(tmp_path / "lora_s42" / "model_checkpoint")  # uniform: no panel of its own
    save_adalora(tmp_path / "ada_s42" / "model_checkpoint")
    out = tmp_path / "analysis"
    written = compare(groups_from_names(tmp_path, names), out, say=lambda line: None)
    assert sorted(p.name for p in written) == sorted([
        "comparison_table.csv", "comparison_table.md", "power.md", "performance_plot.png",
        "rank_allocation_heatmap.png", "training_curves.png", "confusion_matrices.png"])
    assert "| ba_lora | sst2 | 2 |" in (out / "power.md").read_text()  # its spread sizes the seeds
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    assert not list(out.glob(".*tmp*"))  # written atomically, nothing left behind


def test_plot_commands(tmp_path, capsys):
    from balora.cli import main

    fake_run(tmp_path, "run_a", "lora", 42, 0.8)
    fake_run(tmp_path, "run_b", "ba_lora", 42, 0.82)
    save_adalora(tmp_path / "run_a" / "model_checkpoint")
    assert main(["plot", "ranks", "--model_path", str(tmp_path / "run_a" / "model_checkpoint"),
                 "--output", str(tmp_path / "ranks.png")]) == 0
    assert main(["plot", "curves", "--experiments", "run_a", str(tmp_path / "run_b"), "--results_dir", str(tmp_path),
                 "--output", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "ranks.png").read_bytes()[:8] == PNG and (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert main(["plot", "curves", "--experiments", "nope", "--results_dir", str(tmp_path)]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
