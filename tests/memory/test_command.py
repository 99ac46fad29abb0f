"""`balora memory`'s method entries, limit and table, without measuring anything."""

import pytest

from balora.errors import UserError
from balora.memory.command import default_limit_bytes, parse_method_item, table_lines
from balora.memory.finder import BatchSearch


def test_a_method_entry_is_a_name_and_its_changed_flags():
    entry = parse_method_item("lora  --quantization nf4 --lora_r 16")
    assert (entry.label, entry.peft_method) == ("lora --quantization nf4 --lora_r 16", "lora")
    assert entry.settings == {"lora_r": 16, "quantization": "nf4"}
    assert parse_method_item("full").settings == {}


@pytest.mark.parametrize("item, message", [
    ("full --quantization nf4", "--quantization does not apply to --peft_method full"),
    ("lora --quantization nf5", "quantization"),
    ("qlora", "unknown --peft_method 'qlora'"),
    ("lora --bogus 1", "unrecognized arguments: --bogus 1"),
])
def test_bad_entries_are_one_line(item, message):
    with pytest.raises(UserError, match=message):
        parse_method_item(item)


def test_the_limit_is_required_without_a_gpu():
    import torch

    assert default_limit_bytes(2) == 2 * 10**9
    with pytest.raises(UserError, match="positive"):
        default_limit_bytes(0)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--memory_limit_gb is required"):
            default_limit_bytes(None)


def test_table_reports_the_largest_fitting_batch():
    full = parse_method_item("full")
    lines = table_lines([(full, BatchSearch(3, 4, {1: 5 * 10**8, 2: 10**9, 3: 15 * 10**8, 4: None})),
                         (full, BatchSearch(None, 1, {1: 3 * 10**9}))], 2 * 10**9)
    assert lines[0].startswith("| method | largest batch within 2 GB |")
    assert lines[2] == "| full | 3 | 1.500 | 4 | 1, 2, 3, 4 |"
    assert lines[3] == "| full | none | — | 1 | 1 |"


# --- the command's inputs, all checked before anything is measured (issues 25 item 6, 32 item 7)

def no_measuring(monkeypatch):
    def measure(spec, timeout_seconds=1800):
        raise AssertionError("measured before the inputs were checked")

    monkeypatch.setattr("balora.memory.step.measure_in_subprocess", measure)


def test_every_missing_input_is_named_in_one_line(monkeypatch, capsys):
    from balora.cli import main

    monkeypatch.setattr("balora.memory.command.gpu_available", lambda: False)
    assert main(["memory"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--methods" in err and "--memory_limit_gb" in err
    assert main(["memory", "--memory_limit_gb", "2"]) == 2  # given: not named again
    err = capsys.readouterr().err
    assert "--methods" in err and "--memory_limit_gb" not in err


def test_the_usage_line_marks_methods_required(capsys):
    from balora.cli import main

    with pytest.raises(SystemExit):
        main(["memory", "--help"])
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert " --methods METHODS [METHODS ...]" in usage and "[--methods" not in usage


@pytest.mark.parametrize("limit", [float("inf"), float("nan"), 0, -1])
def test_the_limit_must_be_a_finite_positive_number(limit):
    with pytest.raises(UserError, match="--memory_limit_gb: must be a finite positive number of GB"):
        default_limit_bytes(limit)


@pytest.mark.parametrize("flag", ["--memory_limit_gb inf", "--max_length 0", "--max_batch_size -1", "--num_labels 0"])
def test_bad_numbers_are_one_line_before_measuring(monkeypatch, capsys, tiny_model_dir, flag):
    from balora.cli import main

    no_measuring(monkeypatch)
    args = {"--memory_limit_gb": "1", **dict([flag.split()])}
    words = [w for name, value in args.items() for w in (name, value)]
    assert main(["memory", "--methods", "lora", "--model_name_or_path", tiny_model_dir, *words]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag.split()[0] in err and "Traceback" not in err


def test_an_output_folder_under_a_file_is_refused_before_measuring(monkeypatch, capsys, tmp_path, tiny_model_dir):
    from balora.cli import main

    no_measuring(monkeypatch)
    (tmp_path / "file").write_text("")
    assert main(["memory", "--methods", "lora", "--memory_limit_gb", "1", "--model_name_or_path", tiny_model_dir,
                 "--output_dir", str(tmp_path / "file" / "analysis")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err


def test_missing_plot_libraries_are_found_before_measuring(monkeypatch, capsys, tiny_model_dir, tmp_path):
    import sys

    from balora.cli import main

    no_measuring(monkeypatch)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["memory", "--methods", "lora", "--memory_limit_gb", "1", "--model_name_or_path", tiny_model_dir,
                 "--output_dir", str(tmp_path)]) == 2
    assert "pip install 'balora[plots]'" in capsys.readouterr().err


def test_an_internal_class_name_never_reaches_the_line():
    from balora.memory.step import plain_cause

    assert plain_cause("balora.errors.ConfigError: --lora_r: must be positive") == "--lora_r: must be positive"
    assert plain_cause("RuntimeError: boom") == "RuntimeError: boom"


def test_an_entry_that_fails_to_measure_keeps_the_others(tmp_path, tiny_model_dir, capsys):
    """Real measurements in their own processes: full is measured and written; the broken entry is
    named by its full string, with its cause and no internal class name, and the exit code is 1."""
    from balora.cli import main

    broken = "lora --lora_target_modules no_such_module"
    assert main(["memory", "--methods", "full", broken, "--memory_limit_gb", "0.000001", "--max_batch_size", "2",
                 "--model_name_or_path", tiny_model_dir, "--output_dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and f"measuring '{broken}' at batch size 1 failed" in captured.err
    assert "matches no linear layer" in captured.err and "balora.errors" not in captured.err
    table = (tmp_path / "memory_batch_sizes.md").read_text()
    assert "| full | none | — | 1 | 1 |" in table and f"| {broken} | failed |" in table
    assert (tmp_path / "memory_batch_sizes.png").is_file()
