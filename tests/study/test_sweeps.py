"""Sweeps in study files (product of values, names, relative settings) and the trainable-parameter cap."""

from __future__ import annotations

import textwrap

import pytest

from balora.errors import UserError
from balora.study import print_plan
from balora.study.plan import StudyOptions, check_trainable_cap, plan_study
from balora.study.studyfile import parse_study
from balora.study.sweeps import Relative, Variant, expand_sweep, is_categorical


def write_study(tmp_path, body: str, model_dir: str) -> str:
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(body).format(model=model_dir))
    return str(path)

SWEEPS = """\
    name: sweeps
    seeds: [1, 2]
    max_trainable_parameters: {cap}
    defaults:
      model_name_or_path: {{model}}
      epochs: 1
      lora_r: 4
      lora_alpha: 8
    phases:
      scope:
        methods:
          lora:
            sweep:
              lora_target_modules: [[query], [value], [query, value], [all-linear]]
      rank:
        methods:
          lora:
            learning_rates: [1.0e-3, 2.0e-3]
            sweep:
              lora_r: [2, 3]
              lora_alpha: {{{{times: lora_r, values: [0.5, 2]}}}}
      learning_rate:
        methods:
          lora:
            sweep:
              learning_rate: [1.0e-3, 4e-3]
"""


def plan(tmp_path, model_dir, cap=100_000, body=None):
    path = write_study(tmp_path, (body or SWEEPS).format(cap=cap), model_dir)
    return plan_study(parse_study(path), StudyOptions())


def test_a_sweep_expands_to_the_product_with_names_that_show_the_values(tmp_path, tiny_model_dir):
    groups = {g.key: g for g in plan(tmp_path, tiny_model_dir).groups}
    assert list(groups) == [
        "sst2-scope-lora-lora_target_modules=query", "sst2-scope-lora-lora_target_modules=value",
        "sst2-scope-lora-lora_target_modules=query+value", "sst2-scope-lora-lora_target_modules=all-linear",
        "sst2-rank-lora-lora_r=2-lora_alpha=1", "sst2-rank-lora-lora_r=2-lora_alpha=4",
        "sst2-rank-lora-lora_r=3-lora_alpha=1.5", "sst2-rank-lora-lora_r=3-lora_alpha=6",
        "sst2-learning_rate-lora-learning_rate=0.001", "sst2-learning_rate-lora-learning_rate=0.004",
    ]
    value = groups["sst2-scope-lora-lora_target_modules=value"]
    assert value.settings["lora_target_modules"] == ["value"] and value.swept == {"lora_target_modules": ["value"]}
    assert value.entry_label == "lora" and value.label == "lora-lora_target_modules=value"
    # Tiny BERT (2 layers, hidden 32, intermediate 64) at rank 4: query alone 2 * 4 * 64; all-linear adds
    # key, value, attention output (32x32), intermediate (32->64), output (64->32) and the pooler.
    assert value.counts["adapter"] == 2 * 4 * 64
    assert groups["sst2-scope-lora-lora_target_modules=query+value"].counts["adapter"] == 4 * 4 * 64
    assert groups["sst2-scope-lora-lora_target_modules=all-linear"].counts["adapter"] == 4 * (
        2 * (4 * 64 + 2 * 96) + 64)
    rank = groups["sst2-rank-lora-lora_r=3-lora_alpha=6"]
    assert rank.settings["lora_r"] == 3 and rank.settings["lora_alpha"] == 6
    assert rank.swept_text == {"lora_r": "3", "lora_alpha": "6 (r × 2)"}
    assert rank.learning_rates == (1e-3, 2e-3)  # the usual selection on validation, per combination
    fast = groups["sst2-learning_rate-lora-learning_rate=0.004"]
    assert fast.learning_rates == (4e-3,) and fast.seeds == (1, 2) and "learning_rate" not in fast.settings


def test_relative_values_read_the_configuration_they_land_in():
    variant = Variant({"lora_alpha": Relative("lora_r", 0.5)})
    assert variant.resolve({"lora_r": 22}, lambda name: None) == ({"lora_alpha": 11}, {"lora_alpha": "11 (r × 0.5)"})
    assert variant.resolve({}, lambda name: 8)[0] == {"lora_alpha": 4}  # nobody set r: its default
    with pytest.raises(ValueError, match="lora_alpha: 'times: lora_r' needs a number"):
        variant.resolve({"lora_r": "big"}, lambda name: None)
    assert variant.label("lora", {"lora_alpha": 11}) == "lora-lora_alpha=11"


def test_expansion_without_a_sweep_and_kinds_of_values():
    assert expand_sweep(None, None, None) == [Variant()]
    assert is_categorical([["query"], ["value"]]) and not is_categorical([0.0, 0.1]) and is_categorical([True, False])


@pytest.mark.parametrize("change, line, message", [
    ("lora_r: [2, 3]", 20, "unknown setting 'lora_rr'"),
    ("lora_alpha: {{{{times: lora_r, values: [0.5, 2]}}}}", 21, "a relative sweep is {times: <setting>, values"),
    ("learning_rate: [1.0e-3, 4e-3]", 26, "sweep learning_rate needs a non-empty list"),
    ("lora_target_modules: [[query], [value], [query, value], [all-linear]]", 14, "lists query twice"),
    ("learning_rates: [1.0e-3, 2.0e-3]", 20, "'lora_r' is both set and swept"),
    ("lora_r: [2, 3]", 20, "'seed' is set by the study itself and cannot be swept"),
    ("lora_r: [2, 3]", 20, "--lora_r: must be a positive number"),
])
def test_sweep_mistakes_name_the_line(tmp_path, tiny_model_dir, change, line, message):
    replacement = {
        "unknown setting 'lora_rr'": "lora_rr: [2, 3]",
        "a relative sweep is {times: <setting>, values": "lora_alpha: {{{{times: lora_r, by: [0.5, 2]}}}}",
        "sweep learning_rate needs a non-empty list": "learning_rate: []",
        "lists query twice": "lora_target_modules: [[query], [query]]",
        "'lora_r' is both set and swept": "lora_r: 5",
        "'seed' is set by the study itself and cannot be swept": "seed: [2, 3]",
        "--lora_r: must be a positive number": "lora_r: [2, -3]",
    }[message]
    body = SWEEPS.replace(change, replacement)
    assert body != SWEEPS
    with pytest.raises(UserError) as err:
        plan(tmp_path, tiny_model_dir, body=body)
    assert f"study.yaml line {line}: " in str(err.value) and message in str(err.value), str(err.value)


def test_the_cap_refuses_the_study_in_one_line_naming_the_configuration(tmp_path, tiny_model_dir, capsys):
    below = plan(tmp_path, tiny_model_dir, cap=100_000)
    check_trainable_cap(below)  # every configuration fits
    # all-linear at rank 4 holds 4 * 960 + 66 (head) = 3,906 trainable parameters; query+value 1,090.
    over = plan(tmp_path, tiny_model_dir, cap=1_800)
    with pytest.raises(UserError) as err:
        check_trainable_cap(over)
    message = str(err.value)
    assert "\n" not in message and "line 12" in message and "sst2-scope-lora-lora_target_modules=all-linear" in message
    assert "3,906 trainable (adapter 3,840 + head 66), ABOVE the cap of 1,800" in message
    path = write_study(tmp_path, SWEEPS.format(cap=1_800), tiny_model_dir)
    with pytest.raises(UserError, match="all-linear"):
        print_plan(path, StudyOptions(phases=["scope"]))  # --dry_run: the table, then the same refusal
    shown = capsys.readouterr().out
    assert "trainable" in shown and "cap" in shown
    assert [line.split()[-1] for line in shown.splitlines() if line.startswith("scope")] == ["ok", "ok", "ok", "OVER"]


def test_the_cap_reaches_every_experiment_and_train_refuses_before_the_folder(tmp_path, tiny_data_dir,
                                                                              tiny_model_dir):
    from helpers import run_train

    groups = plan(tmp_path, tiny_model_dir).groups
    assert {g.settings["max_trainable_parameters"] for g in groups} == {100_000}
    with pytest.raises(UserError) as err:
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, max_trainable_parameters=2_000)
    assert str(err.value).startswith("tiny: 2,114 trainable (adapter 2,048 + head 66), ABOVE the cap of 2,000")
    assert not (tmp_path / "tiny").exists()
