"""The set-up the README gives installs what the README advertises."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extras_installed(setup: str, test: bool) -> list[str]:
    main = re.search(r"^extras=(\S+)$", setup, re.M).group(1)
    with_test = re.search(r'^\[ "\$\{1:-\}" = test \] && extras=(\S+)$', setup, re.M).group(1)
    return (with_test if test else main).split(",")


def test_the_main_setup_installs_bitsandbytes_for_the_quantized_bases_the_readme_advertises():
    assert "--quantization nf4" in (ROOT / "README.md").read_text()
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for test in (False, True):
        requirements = [r for extra in extras_installed(setup, test) for r in extras[extra]]
        assert any(r.startswith("bitsandbytes") for r in requirements), f"setup.sh{' test' if test else ''}"
