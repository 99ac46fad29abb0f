"""How many seeds a comparison needs: power.md, from the spread of the paired differences observed.

The spread of per-seed differences (method minus reference) is what a paired t-test divides by;
from it, stats.seeds_needed says how many seeds detect a given true difference 80% of the time.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from balora.analysis import stats
from balora.metric_registry import metric
from balora.results import atomic_write_text

DIFFERENCES = (0.5, 1.0, 2.0)  # points of a metric shown in % (accuracy, F1, ROUGE)
SPREADS = (0.3, 0.5, 1.0)
TARGET_POWER = 0.8


def _cell(seeds: int | None) -> str:
    return "> 1000" if seeds is None else str(seeds)


def spread_table(spreads=SPREADS, differences=DIFFERENCES, unit: str = "points") -> str:
    """Seeds needed (rows: the std of per-seed differences; columns: the true difference to detect)."""
    header = [f"spread (std of differences, {unit})", *(f"Δ = {d:g}" for d in differences)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for spread in spreads:
        lines.append("| " + " | ".join([f"{spread:g}", *(_cell(stats.seeds_needed(d, spread)) for d in differences)])
                     + " |")
    return "\n".join(lines) + "\n"


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def observed_power_table(table: pd.DataFrame) -> str:
    """One line per comparison with a measured spread: seeds needed for the observed Δ and fixed ones."""
    header = ["method", "dataset", "n", "observed Δ", "spread (std)", "seeds for observed Δ",
              *(f"seeds for Δ = {d:g}" for d in DIFFERENCES)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        std, delta = _number(row.get("delta_std")), _number(row.get("delta_vs_lora"))
        if not std or delta is None:  # one seed, or no spread at all: nothing to size from
            continue
        headline = metric(row["headline_metric"])
        shown_std, shown_delta = headline.shown(std), headline.shown(delta)
        lines.append("| " + " | ".join([
            str(row["method"]), str(row["dataset"]), str(int(row["delta_pairs"])),
            f"{shown_delta:+.{headline.digits}f}", f"{shown_std:.{headline.digits + 1}f}",
            _cell(stats.seeds_needed(shown_delta, shown_std)) if shown_delta else "—",
            # fixed differences in points mean nothing for an MCC or a perplexity
            *((_cell(stats.seeds_needed(d, shown_std)) if headline.unit == "%" else "—") for d in DIFFERENCES)])
            + " |")
    if len(lines) == 2:
        return ""
    return "\n".join(lines) + "\n"


def power_markdown(table: pd.DataFrame) -> str:
    observed = observed_power_table(table)
    return "\n".join([
        "# Seeds needed",
        "",
        f"Seeds for a two-sided paired t-test (α = 0.05) to detect a true difference with probability "
        f"{TARGET_POWER:.0%}, given the spread (sample std) of the per-seed differences measured here. Differences "
        "and spreads are in the table's units (accuracy and F1 in points; MCC and perplexity as shown, with no fixed "
        "differences). Holm's "
        "correction over several comparisons asks for more. A spread measured from 3 seeds is itself rough: "
        "read these as orders of magnitude.",
        "",
        observed or "No comparison here has two seeds or more with any spread: nothing to size from.",
        "For spreads not measured here:",
        "",
        spread_table(),
    ])


def write_power(table: pd.DataFrame, output_dir: Path) -> Path:
    path = Path(output_dir) / "power.md"
    atomic_write_text(path, power_markdown(table))
    return path
