"""Bad input: one clear line on stderr, exit code 2, no traceback, nothing written."""

import os
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
    (["--peft_method", "eva", "--param_budget", "5000"],
     "--param_budget does not apply to --peft_method eva (methods that read it: lora, ba_lora"),
    (["--peft_method", "full", "--lora_r", "4"], "--lora_r does not apply to --peft_method full"),
    (["--peft_method", "ba_lora", "--lora_r", "16"],
     "--lora_r does not apply to --peft_method ba_lora (methods that read it: lora, layerwise, plateau_lora, pissa, "
     "lora_ga, eva, dora)"),
    (["--peft_method", "ba_lora", "--lora_r", "8"], "--lora_r does not apply to --peft_method ba_lora"),  # at its default too
    (["--peft_method", "adalora", "--use_rslora"], "--use_rslora does not apply to --peft_method adalora"),
    (["--peft_method=adalora", "--use_rslora"], "--use_rslora does not apply to --peft_method adalora"),
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
    out = subprocess.run([sys.executable, "-m", "balora", "train", "--peft_method", "adalora", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--experiment_name", "--lora_target_modules", "--adalora_tinit", "--warmup_ratio", "--resume"):
        assert flag in out.stdout
    assert "10% of all steps" in out.stdout  # a percent sign in a help text (argparse formats help with %)
    bad = subprocess.run([sys.executable, "-m", "balora", "train", "--experiment_name", "x", "--epochs", "-1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --epochs: must be a positive number (got -1)"


def help_of(capsys, *args) -> str:
    with pytest.raises(SystemExit):
        main(["train", *args, "--help"])
    return capsys.readouterr().out


def test_a_methods_help_shows_its_flags_only_with_its_own_help_texts(capsys):
    from balora.methods import METHODS

    plain = help_of(capsys)  # the default method, lora
    assert "--lora_r" in plain and "--freeze_layers" not in plain and "--adalora_init_r" not in plain
    assert "--peft_method METHOD --help" in plain
    for name, method in METHODS.items():
        text = help_of(capsys, "--peft_method", name)
        own = {f for cls in method.option_classes for f in cls.__dataclass_fields__}
        every = {f for m in METHODS.values() for cls in m.option_classes for f in cls.__dataclass_fields__}
        assert all(f"--{flag} " in text or f"--{flag}\n" in text for flag in own), name
        assert not [flag for flag in every - own if f"--{flag} " in text or f"--{flag}\n" in text], name
    layerwise = " ".join(help_of(capsys, "--peft_method", "layerwise").split())
    assert "Reference rank: every module is scaled like uniform LoRA at this rank" in layerwise
    assert "LoRA rank of every target module" in " ".join(help_of(capsys, "--peft_method", "lora").split())


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"sentence": ["a", "b", "c"] * 4, "label": [0] * 12}),
     "the train split of csv holds a single class ('0')"),
    (pd.DataFrame({"sentence": ["a", "b", "c"] * 4, "label": ["pos"] * 12}), "holds a single class ('pos')"),
    (pd.DataFrame({"sentence": ["a", "b", "c"] * 4, "label": [1] * 12}), "holds a single class ('1')"),
    (pd.DataFrame({"sentence": ["a", "b", "c"] * 4, "label": [1, 2] * 6}),
     "no example of class '0' (1 of 3 classes missing); pass --allow_missing_classes"),
    (pd.DataFrame({"sentence": ["a", "b"], "label": [-1, -2]}), "labels of a csv dataset are 0, 1, 2, ... or class names"),
    (pd.DataFrame({"sentence": [], "label": []}), "is empty: no rows under its header"),
])
def test_csv_data_a_classifier_cannot_learn_from(capsys, tmp_path, frame, message):
    frame.to_csv(tmp_path / "train.csv", index=False)
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--dataset", "csv",
                                 "--train_file", str(tmp_path / "train.csv"), "--text_column", "sentence"])
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_model_folder_and_name_mistakes(capsys, tmp_path):
    (tmp_path / "no_model").mkdir()
    for command in ([*BASE, "--results_dir", str(tmp_path / "r")], ["count"]):
        code, err = run_cli(capsys, [*command, "--model_name_or_path", str(tmp_path / "no_model")])
        assert code == 2 and err == f"error: --model_name_or_path {tmp_path}/no_model: the folder holds no model (no config.json)"
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--model_name_or_path", "/nonexistent"])
    assert code == 2 and "/nonexistent: no such folder, and not a Hugging Face Hub id" in err
    assert not (tmp_path / "r").exists()


def test_seed_range(capsys, tmp_path):
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path), "--seed", "-1"])
    assert code == 2 and err == "error: --seed: must be a whole number from 0 to 4294967295 (got -1)"


def test_results_dir_is_checked_before_anything_loads(capsys, tmp_path, monkeypatch):
    import balora.train

    def must_not_load(*args, **kwargs):
        raise AssertionError("data loaded before the results folder was checked")

    monkeypatch.setattr(balora.train, "load_inputs", must_not_load)
    (tmp_path / "a_file").write_text("")
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "a_file")])
    assert code == 2 and err == f"error: --results_dir {tmp_path}/a_file: exists and is not a folder"


def test_max_length_beyond_the_models_positions(capsys, tmp_path, tiny_data_dir, tiny_model_dir):
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path / "r"), "--data_dir", str(tiny_data_dir),
                                 "--model_name_or_path", tiny_model_dir, "--max_length", "100000"])
    assert code == 2 and err == "error: --max_length 100000: the model takes at most 128 tokens"
    assert not (tmp_path / "r").exists()


def test_a_crash_inside_training_marks_the_experiment_failed_with_exit_1(capsys, tmp_path, tiny_data_dir,
                                                                         tiny_model_dir, monkeypatch):
    import json

    from balora.training.callbacks import EpochReport

    def crash(self, args, state, control, **kwargs):
        raise RuntimeError("injected crash")

    monkeypatch.setattr(EpochReport, "on_evaluate", crash)
    code, err = run_cli(capsys, [*BASE, "--results_dir", str(tmp_path), "--data_dir", str(tiny_data_dir),
                                 "--model_name_or_path", tiny_model_dir, "--epochs", "1"])
    assert code == 1 and "unexpected RuntimeError: injected crash (traceback in " in err
    assert len(err.splitlines()) == 1
    status = json.loads((tmp_path / "bad" / "status.json").read_text())
    assert status == {**status, "status": "failed", "error": "RuntimeError: injected crash"}
    assert "Traceback" in (tmp_path / "bad" / "training_log.txt").read_text()


def test_help_imports_no_heavy_library():
    probe = ("import sys\nfrom balora.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch', 'transformers', 'peft', 'datasets', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_command_group_alone_prints_its_own_help(capsys):
    assert main(["plot"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: balora plot") and "ranks" in out and "curves" in out


def test_a_help_text_continued_on_the_next_docstring_line_is_shown_whole():
    from balora.cli import docstring_params
    from balora.commands import count

    # (`balora study`'s flags, the example here before, are now fields of balora.study.flags.StudyFlags)
    helps = docstring_params(count)
    assert helps["model_name_or_path"].endswith("SmolLM2-135M-Instruct for prompt / response data).")
    assert helps["num_labels"] == "Classes of the task head, overriding --dataset (needed for `csv`)."


def test_a_refused_command_prints_one_line_only(tmp_path):
    """Third-party notices (the `kernels` package's offline trust-check line, printed when PEFT
    loads bitsandbytes) are quieted: bad input is exactly one line on stderr."""
    bad = subprocess.run([sys.executable, "-m", "balora", *BASE, "--dataset", "sst2", "--data_dir",
                          str(tmp_path / "none"), "--results_dir", str(tmp_path / "r")],
                         capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert bad.returncode == 2
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert bad.stderr.startswith("error: missing data file")


@pytest.mark.parametrize("length", [250, 300])
def test_a_name_too_long_for_its_lock_file_is_refused_and_leaves_nothing(capsys, tmp_path, length):
    """The lock file .<name>.lock is the longest name a run makes: 251 characters passed the name
    check and then failed on it; 300 failed there too, leaving an empty results folder."""
    results = tmp_path / "r"
    code, err = run_cli(capsys, [*BASE[:1], "--experiment_name", "x" * length, "--results_dir", str(results)])
    assert code == 2 and err == (f"error: --experiment_name: is {length} characters long; at most 249 fit a "
                                 "folder name with its lock file")
    assert not results.exists()


def test_the_longest_allowed_name_fits_its_lock_file(tmp_path):
    from balora.config import TrainConfig
    from balora.experiment_lock import ExperimentLock

    name = "x" * 249
    TrainConfig(experiment_name=name)
    with ExperimentLock(tmp_path / "r", name):
        assert (tmp_path / "r" / f".{name}.lock").exists()
