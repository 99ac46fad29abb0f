"""power.md: seeds needed from the spread of the paired differences a table measured."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from balora.analysis import stats
from balora.analysis.power import observed_power_table, power_markdown, spread_table


def _row(method, delta, std, n=3, headline="accuracy"):
    return {"method": method, "dataset": "sst2", "headline_metric": headline, "delta_vs_lora": delta,
            "delta_std": std, "delta_pairs": n}


def test_observed_spread_gives_seeds_needed():
    table = pd.DataFrame([_row("lora", None, None), _row("ba_lora", 0.01, 0.005), _row("one_seed", 0.02, None, n=1),
                          _row("pissa", -0.004, 0.004)])
    lines = observed_power_table(table).splitlines()
    assert len(lines) == 4  # header, rule, ba_lora, pissa: no spread means nothing to size from
    ba = lines[2].split(" | ")
    assert ba[3:6] == ["+1.0", "0.50", str(stats.seeds_needed(1.0, 0.5))]
    assert ba[6:] == [str(stats.seeds_needed(0.5, 0.5)), str(stats.seeds_needed(1.0, 0.5)),
                      str(stats.seeds_needed(2.0, 0.5)) + " |"]
    assert "Seeds needed" in power_markdown(table)


def test_mcc_has_no_fixed_differences_in_points():
    line = observed_power_table(pd.DataFrame([_row("ba_lora", 0.05, 0.03, headline="matthews_correlation")]))
    assert line.splitlines()[2].endswith("| — | — | — |")


def test_the_guide_prints_the_same_power_table():
    guide = (Path(__file__).parents[2] / "docs" / "guide.md").read_text()
    assert spread_table() in guide, "docs/guide.md's power table is out of date: paste spread_table()"
