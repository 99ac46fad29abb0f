"""Studies on data of one's own (csv, jsonl), in both forms, checked in the dry run with the settings
that reach each dataset; and the names a study gives, checked against what a folder name may hold."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from balora.errors import UserError
from balora.study.names import grid_warnings
from balora.study.plan import StudyOptions, plan_study
from balora.study.studyfile import parse_study


def write_files(tmp_path):
    """reviews.csv: columns review / sentiment, string labels of three classes; notes.jsonl: ask / reply."""
    words = {"bad": "awful dull boring", "good": "great lovely fine", "meh": "plain fine dull"}
    rows = [{"review": f"{words[label]} film {i}", "sentiment": label} for i in range(30) for label in words]
    pd.DataFrame(rows).to_csv(tmp_path / "reviews.csv", index=False)
    with open(tmp_path / "notes.jsonl", "w") as out:
        for i in range(40):
            out.write(json.dumps({"ask": f"say hello {i}", "reply": f"hello {i}"}) + "\n")
    return tmp_path


def plan_text(tmp_path, body: str, count: bool = False, **options):
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(body))
    return plan_study(parse_study(path), StudyOptions(**options), count=count)


def test_csv_in_the_list_form_with_files_and_columns_in_defaults(tmp_path, tiny_model_dir):
    folder = write_files(tmp_path)
    plan = plan_text(tmp_path, f"""\
        name: own
        datasets: [csv]
        defaults: {{model_name_or_path: {tiny_model_dir}, train_file: {folder}/reviews.csv,
                    text_column: review, label_column: sentiment}}
        phases:
          main:
            budgets: [{{lora_rank: 2}}]
            methods: {{lora: {{}}}}
        """, count=True)
    (group,) = plan.groups
    assert group.key == "csv-main-lora-b512" and group.settings["dataset"] == "csv"
    assert group.counts["head"] == 3 * 32 + 3  # three classes, read from the file
    assert plan.data_lines == [f"csv: csv:{folder}/reviews.csv; train 72, validation 9, test 9; 3 classes "
                               "(bad, good, meh)"]


def test_jsonl_in_the_list_form_with_columns_in_dataset_defaults(tmp_path):
    folder = write_files(tmp_path)
    plan = plan_text(tmp_path, f"""\
        name: own
        datasets: [jsonl]
        dataset_defaults:
          jsonl: {{train_file: {folder}/notes.jsonl, prompt_column: ask, response_column: reply}}
        phases:
          main:
            settings: {{train_samples: 10}}
            methods: {{lora: {{}}}}
        """)
    (group,) = plan.groups
    assert group.key == "jsonl-main-lora" and group.settings["prompt_column"] == "ask"
    assert "train 10, validation 4, test 4; causal_lm: ask -> reply" in plan.data_lines[0]


MAPPING = """\
    name: own
    datasets:
      reviews: {{dataset: csv, train_file: {folder}/reviews.csv, text_column: review, label_column: sentiment}}
      notes: {{dataset: jsonl, train_file: {folder}/notes.jsonl, prompt_column: ask, response_column: reply}}
    dataset_defaults:
      reviews: {{train_samples: 4}}
    phases:
      main:
        methods: {{lora: {{learning_rates: [1.0e-3, 2.0e-3]}}}}
"""


def test_the_mapping_form_names_each_dataset_of_ones_own(tmp_path):
    folder = write_files(tmp_path)
    plan = plan_text(tmp_path, MAPPING.format(folder=folder))
    groups = {g.dataset: g for g in plan.groups}
    assert [g.key for g in plan.groups] == ["reviews-main-lora", "notes-main-lora"]
    assert groups["reviews"].settings["dataset"] == "csv" and groups["reviews"].train_samples == 4
    assert groups["notes"].settings["dataset"] == "jsonl" and "text_column" not in groups["notes"].settings
    assert groups["reviews"].experiment_name(1e-3, 42) == "reviews-main-lora-lr0.001-s42"
    assert plan.data_lines[0].startswith("reviews: ") and "train 12," in plan.data_lines[0]
    assert [g.key for g in plan_text(tmp_path, MAPPING.format(folder=folder), datasets=["notes"]).groups] == [
        "notes-main-lora"]


@pytest.mark.parametrize("change, line, message", [
    (("/reviews.csv", "/missing.csv"), 3, "dataset reviews: missing data file: --train_file"),
    (("text_column: review", "text_column: body"), 3, "missing column 'body'"),
    (("train_samples: 4", "train_samples: 40"), 6, "--train_samples 40 is more than class"),
    (("dataset: csv,", "dataset: cvs,"), 3, "unknown dataset 'cvs'"),
    (("prompt_column: ask, ", ""), 4, "--prompt_column and --response_column are required"),
    (("reviews: {{train_samples: 4}}", "reviewz: {{train_samples: 4}}"), 6, "unknown dataset 'reviewz'"),
    (("reviews: {{train_samples: 4}}", "reviews: {{train_samples: 0}}"), 6, "--train_samples: must be a positive"),
])
def test_mistakes_in_own_data_name_the_line(tmp_path, change, line, message):
    folder = write_files(tmp_path)
    body = MAPPING.replace(*change)
    assert body != MAPPING
    with pytest.raises(UserError) as err:
        plan_text(tmp_path, body.format(folder=folder))
    assert f"study.yaml line {line}: " in str(err.value) and message in str(err.value), str(err.value)


def test_a_label_that_is_not_a_class_is_refused_in_the_dry_run(tmp_path):
    folder = write_files(tmp_path)
    pd.DataFrame({"review": ["x", "y"], "sentiment": ["good", "bad"]}).to_csv(tmp_path / "val.csv", index=False)
    pd.DataFrame({"review": ["x"], "sentiment": ["great"]}).to_csv(tmp_path / "test.csv", index=False)
    body = MAPPING.replace("label_column: sentiment", f"label_column: sentiment, test_file: {folder}/test.csv")
    with pytest.raises(UserError, match="line 3: dataset reviews: .*'great'"):
        plan_text(tmp_path, body.format(folder=folder))


STUDY = """\
    name: names
    datasets: [sst2]
    seeds: [1, 2]
    phases:
      main:
        methods:
          lora: {lora_r: 3}
          full: {}
"""


@pytest.mark.parametrize("change, line, message", [
    (("  main:", "  my phase:"), 5, "phase name 'my phase' may only hold"),
    (("  main:", "  a/b:"), 5, "phase name 'a/b' may only hold"),
    (("  main:", "  " + "p" * 70 + ":"), 5, "is 70 characters long; at most 64"),
    (("datasets: [sst2]", "datasets: [sst2, cola, sst2]"), 2, "dataset 'sst2' is listed twice (line 2)"),
    (("seeds: [1, 2]", "seeds: [1, 2, 1]"), 3, "seed 1 is listed twice"),
    (("datasets: [sst2]", "datasets:\n      my/data: {dataset: csv}"), 3, "dataset name 'my/data' may only hold"),
])
def test_names_a_folder_cannot_hold_are_refused_at_their_line(tmp_path, tiny_model_dir, change, line, message):
    body = STUDY.replace(*change)
    assert body != STUDY
    with pytest.raises(UserError) as err:
        plan_text(tmp_path, body)
    assert f"study.yaml line {line}: " in str(err.value) and message in str(err.value), str(err.value)


def test_duplicate_group_names_name_their_lines(tmp_path, tiny_model_dir):
    body = STUDY.replace("    methods:", f"    budgets: [{{lora_rank: 2}}, 512]\n        methods:").replace(
        "lora: {lora_r: 3}", "lora: {}").replace("      full: {}\n", "").replace(
        "seeds: [1, 2]", f"seeds: [1, 2]\n    defaults: {{model_name_or_path: {tiny_model_dir}}}")
    with pytest.raises(UserError) as err:  # rank 2 costs 512 on the tiny model: two budgets, one name
        plan_text(tmp_path, body)
    assert "study.yaml line 9: two groups would share the name sst2-main-lora-b512" in str(err.value), str(err.value)


def test_a_relative_sweep_that_gives_a_fractional_rank_names_the_entry(tmp_path):
    body = STUDY.replace("lora: {lora_r: 3}", "lora:\n            lora_alpha: 7\n            sweep:\n"
                         "              lora_r: {times: lora_alpha, values: [0.5, 1]}")
    with pytest.raises(UserError) as err:
        plan_text(tmp_path, body)
    assert "study.yaml line 10: lora: lora_r must be a whole number (got 3.5)" in str(err.value), str(err.value)


def test_grid_warnings_name_the_comparison_and_each_methods_grid(tmp_path):
    body = STUDY.replace("lora: {lora_r: 3}", "lora: {lora_r: 3, learning_rates: [1.0e-3, 2.0e-3, 4.0e-3]}")
    (warning,) = grid_warnings(plan_text(tmp_path, body).groups)
    assert "(phase main, sst2): lora 3, full none (one rate)" in warning
    body = body.replace("full: {}", "full: {learning_rates: [1.0e-5, 2.0e-5, 4.0e-5]}")
    assert grid_warnings(plan_text(tmp_path, body).groups) == []


def test_the_guides_worked_examples_plan(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide.md").read_text()
    section = re.split(r"\n##+ ", guide.split("### Data of your own in a study")[1])[0]
    examples = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(examples) == 2
    (tmp_path / "data").mkdir()
    write_files(tmp_path / "data")
    rows = [{"review": f"fine film {i}", "sentiment": label} for i in range(120) for label in ("negative", "positive")]
    pd.DataFrame(rows).to_csv(tmp_path / "data" / "reviews.csv", index=False)
    with open(tmp_path / "data" / "notes.jsonl", "w") as out:
        out.writelines(json.dumps({"ask": f"say hello {i}", "reply": f"hello {i}"}) + "\n" for i in range(1000))
    monkeypatch.chdir(tmp_path)  # the guide's paths are relative to where `balora study` runs
    single = plan_text(tmp_path, examples[0])
    assert [g.key for g in single.groups] == ["csv-main-lora", "csv-main-ba_lora"]
    both = plan_text(tmp_path, examples[1])
    assert [g.key for g in both.groups] == ["reviews-main-lora", "reviews-main-dora", "notes-main-lora",
                                            "notes-main-dora"]
    printed = re.findall(r"^Data (.*)$", section, re.M)  # what the guide shows the dry run print
    assert both.data_lines == printed


def test_the_smoke_study_compares_methods_on_equal_grids_and_steps_enough_to_learn():
    from pathlib import Path

    smoke = Path(__file__).resolve().parents[2] / "configs" / "smoke_sst2.yaml"
    plan = plan_study(parse_study(smoke), StudyOptions(), count=False)
    assert grid_warnings(plan.groups) == []
    for group in plan.groups:  # 2 optimizer steps (16 per class, 1 epoch) stayed at chance; 32 reach 80%
        steps = 2 * group.settings["train_samples"] * group.settings["epochs"] // group.settings["batch_size"]
        assert steps >= 32, group.key


def test_the_dry_run_prints_the_data_read_and_warns_of_unequal_grids(tmp_path, tiny_model_dir, capsys):
    from balora.cli import main

    folder = write_files(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: own
        datasets:
          reviews: {{dataset: csv, train_file: {folder}/reviews.csv, text_column: review, label_column: sentiment}}
        defaults: {{model_name_or_path: {tiny_model_dir}}}
        phases:
          main:
            methods: {{lora: {{learning_rates: [1.0e-3, 2.0e-3]}}, full: {{}}}}
        """))
    assert main(["study", str(path), "--dry_run"]) == 0
    out, err = capsys.readouterr()
    assert f"Data reviews: csv:{folder}/reviews.csv; train 72, validation 9, test 9; 3 classes (bad, good, meh)" in out
    assert "reviews-main-lora-lr0.001-s42" in out
    assert "warning: learning-rate grids of different sizes in one comparison (phase main, reviews): lora 2, " \
           "full none (one rate)" in err
