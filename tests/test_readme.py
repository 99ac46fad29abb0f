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
