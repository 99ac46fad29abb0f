"""The README stays true: its test command is what CI runs, and every flag is documented."""

import dataclasses
import re
from pathlib import Path

from balora.config import TrainConfig
from balora.methods import all_option_classes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


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
            assert f"`--{field.name}`" in README, field.name
