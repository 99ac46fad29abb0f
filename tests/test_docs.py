"""The docs stay true: every registered method is described with its counting and its budget, the
README's layout names every part of the package, results.md holds dated results with their
commands and names no file that is gone."""

import re
from pathlib import Path

from balora.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATE = re.compile(r"20\d\d-\d\d-\d\d|\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
                  r"November|December) 20\d\d")


def sections(text: str, level: str) -> dict[str, str]:
    """Heading -> its text, for headings of exactly ``level`` (e.g. "### ")."""
    parts = re.split(rf"^{level}(.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def method_sections(text: str) -> dict[str, str]:
    return {heading.strip("`"): body for heading, body in sections(text, "### ").items()}


def test_every_registered_method_has_a_section_on_its_counting_and_budget():
    described = method_sections((DOCS / "methods.md").read_text())
    for name in METHODS:
        assert name in described, f"docs/methods.md has no '### `{name}`' section"
        body = described[name].lower()
        assert "count" in body and "budget" in body, f"docs/methods.md: {name} says nothing of counting or budgets"


def test_the_method_check_finds_a_missing_method():
    described = method_sections("### `lora`\n\nCounts r(m+n); a budget sets the rank.\n### `dora`\n\nx\n")
    assert "lora" in described and "eva" not in described
    assert "budget" not in described["dora"]


def test_the_readme_layout_names_every_module_and_package():
    layout = (ROOT / "README.md").read_text().split("## Layout of the code", 1)[1]
    parts = [p for p in (ROOT / "src" / "balora").iterdir()
             if p.name not in ("__init__.py", "__main__.py", "__pycache__")]
    named = [p.name + ("/" if p.is_dir() else "") for p in parts]
    missing = [name for name in named if name not in layout]
    assert missing == [], f"README's 'Layout of the code' does not name {missing}"


def test_every_results_section_has_a_date_and_a_command():
    text = (DOCS / "results.md").read_text()
    for heading, body in sections(text, "## ").items():
        assert DATE.search(body), f"docs/results.md '{heading}': no date"
        assert re.search(r"`(\.venv/bin/)?(python )?(balora|benchmarks/)|^(\.venv/bin/)?balora ", body, re.M), \
            f"docs/results.md '{heading}': no command"


def test_results_and_history_name_only_files_that_exist_and_link_each_other():
    results, history = (DOCS / "results.md").read_text(), (DOCS / "history.md").read_text()
    named = set(re.findall(r"\b(?:benchmarks|configs|scripts|src|tests)/[\w./-]+\.(?:py|yaml|sh|json)", results))
    assert named and [path for path in sorted(named) if not (ROOT / path).exists()] == []
    assert "(history.md)" in results and "(results.md)" in history
