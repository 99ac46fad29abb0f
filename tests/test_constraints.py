"""The lock: scripts/setup.sh installs constraints.txt's versions, and those versions satisfy every
range pyproject.toml states (a range raised without regenerating the lock fails here)."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[canonicalize_name(name)] = version
    return found


def unsatisfied(project: dict, locked: dict[str, str]) -> list[str]:
    """Every requirement of the project (dependencies and extras) that the lock lacks or pins outside its range."""
    wanted = [*project["dependencies"], *(r for reqs in project["optional-dependencies"].values() for r in reqs)]
    bad = []
    for text in wanted:
        req = Requirement(text)
        version = locked.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            bad.append(f"{text} (locked: {version})")
    return bad


def test_every_requirement_is_locked_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert unsatisfied(project, pins((ROOT / "constraints.txt").read_text())) == []


def test_a_range_the_lock_does_not_meet_is_found():
    project = {"dependencies": ["peft>=0.19", "numpy>=1.24"], "optional-dependencies": {"x": ["ray>=2"]}}
    assert unsatisfied(project, {"peft": "0.17.1", "numpy": "2.4.6"}) == ["peft>=0.19 (locked: 0.17.1)",
                                                                           "ray>=2 (locked: None)"]


def test_setup_installs_every_package_through_the_lock_and_pins_torch_alike():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    installs = [line for line in setup.splitlines() if re.match(r"\$py -m pip install", line)]
    assert installs and all('"${lock[@]}"' in line for line in installs)
    assert "lock=(-c constraints.txt)" in setup
    torch = re.search(r"torch==([\d.]+)", setup).group(1)
    assert pins((ROOT / "constraints.txt").read_text())["torch"] == torch


def test_peft_is_new_enough_for_lora_ga():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    peft = next(Requirement(r) for r in project["dependencies"] if r.startswith("peft"))
    assert not peft.specifier.contains("0.18.1") and peft.specifier.contains("0.19.0")
