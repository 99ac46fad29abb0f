"""Bad input: one clear line on stderr, exit code 2, no traceback, nothing written."""

import subprocess
import sys

import pandas as pd
import pytest

from balora.cli import main

BASE = ["train", "--experiment_name", "bad"]


def run_cli(capsys, args):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err.strip()


@pytest.mark.parametrize("extra, message", [
    (["--dataset", "nope"], "unknown dataset 'nope'; valid datasets: sst2, imdb"),
    (["--peft_method", "nope"], "unknown --peft_method 'nope'; valid methods: full, partial, lora"),
    (["--epochs", "0"], "--epochs: must be a positive number (got 0)"),
    (["--batch_size", "-4"], "--batch_size: must be a positive number"),
    (["--learning_rate", "0"], "--learning_rate: must be a positive number"),
    (["--learning_rate", "nan"], "--learning_rate: must be a positive number (got nan)"),
    (["--learning_rate", "fast"], "invalid float value: 'fast'"),
    (["--train_samples", "0"], "--train_samples: must be a positive number"),
    (["--lora_r", "0"], "--lora_r: must be a positive number"),
    (["--nonsense_flag", "1"], "unrecognized arguments: --nonsense_flag 1"),
    (["--param_budget", "5000"], "--param_budget does not apply to --peft_method lora (methods that read it: ba_lora"),
    (["--peft_method", "full", "--lora_r", "4"], "--lora_r does not apply to --peft_method full"),
])
def test_bad_flags(capsys, tmp_path, extra, message):
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path), *extra])
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_experiment_name_with_path_separator(capsys, tmp_path):
    code, err = run_cli(capsys, ["train", "--experiment_name", "../escape", "--results_dir", str(tmp_path)])
    assert code == 2 and "--experiment_name: must be a plain folder name" in err


def test_missing_data_file_names_the_path(capsys, tmp_path):
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--dataset", "cola",
                                 "--data_dir", str(tmp_path)])
    assert code == 2 and f"expected {tmp_path}/cola_dataset/cola_train.csv" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}), "missing column 'sentence'"),
    (pd.DataFrame({"sentence": ["a", "b"], "label": [0, 7]}), "labels outside 0..1"),
    (pd.DataFrame({"sentence": [], "label": []}), "empty"),
])
def test_bad_data(capsys, tmp_path, frame, message):
    (tmp_path / "sst2_dataset").mkdir()
    frame.to_csv(tmp_path / "sst2_dataset" / "sst2_train.csv", index=False)
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--data_dir", str(tmp_path)])
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_train_samples_above_a_class_size(capsys, tmp_path, tiny_data_dir):
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--data_dir", str(tiny_data_dir),
                                 "--train_samples", "1000"])
    assert code == 2 and "--train_samples 1000 is more than class" in err
    assert not (tmp_path / "r").exists()


def test_hub_unreachable_without_local_data(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("BALORA_DATA_DIR", raising=False)
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--dataset", "cola"])
    assert code == 2 and "Hugging Face Hub" in err and "--data_dir" in err


def test_module_entry_point_and_help():
    out = subprocess.run([sys.executable, "-m", "balora", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--experiment_name", "--lora_target_modules", "--freeze_layers", "--warmup_ratio", "--resume"):
        assert flag in out.stdout
    assert "10% of all steps" in out.stdout  # a percent sign in a help text (argparse formats help with %)
    bad = subprocess.run([sys.executable, "-m", "balora", "train", "--experiment_name", "x", "--epochs", "-1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --epochs: must be a positive number (got -1)"
