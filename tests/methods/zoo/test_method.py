"""The `peft` method and its presets through the pipeline: a PEFT config file trains, counts as it
trains, meets a budget through its knob, saves a plain PEFT adapter; bad configs and budgets are one
line and exit 2 before anything loads."""

import json

import pytest

from balora.cli import main
from balora.config import TrainConfig
from balora.methods import build_options
from balora.preparation import count_configuration
from helpers import reload_with_plain_peft, run_train

LOHA = {"peft_type": "LOHA", "alpha": 16}


def test_a_peft_config_file_meets_a_budget_trains_counts_and_reloads(tmp_path, tiny_data_dir, tiny_model_dir):
    config_file = tmp_path / "loha.yaml"
    config_file.write_text("peft_type: LOHA\nalpha: 16\n")
    settings = {"peft_config": str(config_file), "budget_knob": "r", "param_budget": 1100}
    counted = count_configuration(TrainConfig(experiment_name="c", peft_method="peft", model_name_or_path=tiny_model_dir),
                                  build_options(**settings), num_labels=2)
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, peft_method="peft", epochs=1, method_settings=settings)
    # LoHa holds two pairs of rank-r factors: 4 x 2 x r x 64 on the tiny BERT's query and value; r 2 fits 1,100
    assert results.parameters.adapter == counted.parameters.adapter == 1024
    assert results.parameters.head == 66
    summary = results.method_summary
    assert (summary["budget_knob"], summary["knob_value"]) == ("r", 2)
    assert (summary["requested_parameters"], summary["reached_parameters"]) == (1100, 1024)
    assert summary["peft_config"]["peft_type"] == "LOHA" and summary["target_modules"] == ["query", "value"]
    assert "peft: LoHaConfig on 4 modules, r 2 (1,024 adapter parameters, budget 1,100)" in counted.notes
    reload_with_plain_peft(tmp_path / "tiny", tiny_data_dir, tiny_model_dir)


def test_a_preset_on_a_4bit_base_is_qdora(tmp_path, tiny_data_dir, tiny_quantizable_model_dir):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    results = run_train(tmp_path, tiny_data_dir, tiny_quantizable_model_dir, peft_method="qdora", epochs=1,
                        method_settings={"quantization": "nf4", "peft_config": {"r": 2}})
    saved = json.loads((tmp_path / "tiny" / "model_checkpoint" / "adapter_config.json").read_text())
    assert saved["use_dora"] is True and results.memory.quantization == "nf4"
    # A, B (2 x (64 + 64)) and a magnitude per output (64), on 4 matrices
    assert results.parameters.adapter == 4 * (2 * 128 + 64)


def test_a_studys_inline_peft_config_is_planned_with_its_counts(tmp_path, tiny_model_dir):
    from balora.study.plan import plan_study
    from balora.study.studyfile import parse_study

    (tmp_path / "study.yaml").write_text(f"""
name: zoo
defaults: {{model_name_or_path: {tiny_model_dir}}}
phases:
  main:
    budgets: [{{lora_rank: 4}}]
    methods:
      loha: {{peft_method: peft, peft_config: {{peft_type: LOHA, alpha: 16}}, budget_knob: r}}
      miss: {{peft_method: miss}}
""")
    plan = plan_study(parse_study(tmp_path / "study.yaml"))
    counts = {group.label: group.counts["adapter"] for group in plan.groups}
    assert counts == {"loha": 1024, "miss": 1024}  # LoRA r=4 costs 4 x 4 x 64 = 1,024


def refused(capfd, monkeypatch, tmp_path, *words) -> str:
    """`balora train` with these words: exit 2, one line on stderr, nothing loaded, nothing written."""
    import balora.train

    monkeypatch.setattr(balora.train, "load_inputs", lambda *a, **k: pytest.fail("loaded before refusing"))
    code = main(["train", "--experiment_name", "x", "--results_dir", str(tmp_path / "results"), *words])
    err = capfd.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert not (tmp_path / "results").exists()
    return err


def config_file(tmp_path, fields: dict) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(fields))
    return str(path)


@pytest.mark.parametrize("fields, words, message", [
    ({"peft_type": "NOPE"}, [], "--peft_config: unknown peft_type 'NOPE'; PEFT 0."),
    ({"peft_type": "VERA", "rank": 4}, [], "--peft_config: VeraConfig (PEFT 0."),
    ({"peft_type": "VERA"}, ["--param_budget", "2000", "--budget_knob", "vera_dropout"],
     "--budget_knob: VeraConfig.vera_dropout is not an integer field (float)"),
    ({"peft_type": "VERA"}, ["--param_budget", "2000", "--budget_knob", "rank"], "--budget_knob: VeraConfig has no field 'rank'"),
    ({"peft_type": "VERA"}, ["--param_budget", "2000"], "--budget_knob: --param_budget needs the field it sets"),
    ({"peft_type": "LOHA", "r": 2}, ["--param_budget", "2000", "--budget_knob", "r"],
     "--peft_config: r is set by --param_budget; remove it from the config"),
    ({"peft_type": "LOHA"}, ["--param_budget", "100", "--budget_knob", "r"],
     "--param_budget: 100 is below the smallest adapter of LoHaConfig (r 1: 512 adapter parameters)"),
])
def test_a_bad_peft_config_or_budget_is_one_line_before_anything_loads(capfd, monkeypatch, tmp_path, tiny_model_dir,
                                                                       fields, words, message):
    err = refused(capfd, monkeypatch, tmp_path, "--model_name_or_path", tiny_model_dir, "--peft_method", "peft",
                  "--peft_config", config_file(tmp_path, fields), *words)
    assert message in err
    if "rank" in fields:
        assert "has no field rank" in err


@pytest.mark.parametrize("words, message", [
    (["--peft_method", "vera", "--param_budget", "5000"], "--param_budget: 5,000 cannot be reached by vera: its "
                                                          "largest adapter (r 32;"),
    (["--peft_method", "ia3", "--param_budget", "5000"], "--budget_knob: --param_budget needs the field it sets: ia3 "
                                                         "has no budget knob"),
    (["--peft_method", "corda"], "--peft_method corda: corda needs PEFT's CorDA preprocessing"),
    (["--peft_method", "loftq", "--quantization", "nf4"], "--peft_method loftq: loftq needs the base's full-precision"),
    (["--peft_method", "qdora"], "--quantization: qdora trains on a quantized base: give --quantization nf4 or fp4"),
    (["--peft_method", "peft"], "--peft_config: --peft_method peft needs a PEFT config"),
    (["--peft_method", "vera", "--peft_config", "missing.json"], "--peft_config: no such file: missing.json"),
])
def test_presets_refuse_what_they_cannot_do_in_one_line(capfd, monkeypatch, tmp_path, tiny_model_dir, words, message):
    assert message in refused(capfd, monkeypatch, tmp_path, "--model_name_or_path", tiny_model_dir, *words)


def test_a_preset_of_another_peft_type_is_refused(capfd, monkeypatch, tmp_path, tiny_model_dir):
    err = refused(capfd, monkeypatch, tmp_path, "--model_name_or_path", tiny_model_dir, "--peft_method", "vera",
                  "--peft_config", config_file(tmp_path, {"peft_type": "LORA"}))
    assert "--peft_config: vera is a VERA config (got peft_type LORA); another peft_type runs with --peft_method peft" in err


def test_a_presets_help_says_what_it_sets(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--peft_method", "vera", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "vera sets {peft_type: VERA, r: 256}" in text and "(default for vera: r)" in text


def test_methods_lists_each_preset_with_its_knob(capsys):
    assert main(["methods"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "(budget knob oft_block_size)" in lines["oft"] and "(no budget knob)" in lines["ia3"]
    assert "needs --quantization nf4 or fp4" in lines["qdora"]
