"""The README stays true: its test command is what CI runs; docs/flags.md documents every flag and is what
scripts/flags_table.py generates."""

import dataclasses
import importlib.util
import re
from pathlib import Path

from balora.config import TrainConfig
from balora.methods import all_option_classes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FLAGS = (ROOT / "docs" / "flags.md").read_text()


def commands_in_readme() -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)]


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    main_job, tests = commands_in_readme()[:2]
    assert main_job.startswith("bash scripts/setup.sh && .venv/bin/balora train ")
    assert tests == "bash scripts/setup.sh test && .venv/bin/python -m pytest"
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_every_train_flag_is_documented():
    for cls in [TrainConfig, *all_option_classes()]:
        for field in dataclasses.fields(cls):
            assert f"`--{field.name}`" in FLAGS, field.name


def test_flags_doc_is_what_the_generator_prints():
    spec = importlib.util.spec_from_file_location("flags_table", ROOT / "scripts" / "flags_table.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert FLAGS == generator.flags_markdown(), "docs/flags.md is stale: run scripts/flags_table.py > docs/flags.md"


def test_readme_stays_short_and_links_resolve():
    assert len(README.splitlines()) <= 220
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", README):
        assert (ROOT / target).is_file(), target


def test_the_methods_table_says_which_methods_take_param_budget():
    from balora.methods import METHODS
    from balora.methods.budget import BudgetOptions

    rows = re.findall(r"^\| (`\w+`(?:, `\w+`)*) \| .* \| (.*) \|$", README, re.M)
    said = {name: not (cell.startswith("not taken") or cell == "none") for names, cell in rows
            for name in re.findall(r"`(\w+)`", names)}
    assert set(said) == set(METHODS)
    assert said == {name: BudgetOptions in method.option_classes for name, method in METHODS.items()}


def test_the_readme_study_gives_every_method_a_grid_of_one_size(tmp_path):
    from balora.study.names import grid_warnings
    from balora.study.plan import plan_study
    from balora.study.studyfile import parse_study

    block = next(b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "phases:" in b)
    (tmp_path / "study.yaml").write_text(block)
    assert grid_warnings(plan_study(parse_study(tmp_path / "study.yaml"), count=False).groups) == []


def test_balora_help_describes_train_for_every_task():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "balora", "--help"], capture_output=True, text=True).stdout
    train_line = " ".join(out.split("train", 1)[1].split("count")[0].split())
    assert "classifier on labelled text" in train_line and "prompt / response data" in train_line


def test_label_column_help_says_string_labels_work():
    from balora.config import TrainConfig

    assert "class names" in TrainConfig.__dataclass_fields__["label_column"].metadata["help"]
