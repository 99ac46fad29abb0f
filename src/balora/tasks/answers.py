"""Final answers pulled out of generated text, and exact-match accuracy on them (the way GSM8K is
scored: the number after the last ``####``). Pure functions of strings."""

from __future__ import annotations

import math
import re

# GSM8K writes its answer as "#### 72" at the end of the worked solution; thousands may carry commas.
DEFAULT_ANSWER_PATTERN = r"####\s*\$?\s*(-?[\d,]*\.?\d+)"
# lm-eval's "flexible-extract" for GSM8K: the last number anywhere in the text.
LAST_NUMBER_PATTERN = r"(-?[$\d,]*\.?\d+)"


def compile_answer_pattern(pattern: str | None) -> re.Pattern:
    """``pattern`` or the GSM8K default; ``re.error`` for a pattern that does not compile."""
    return re.compile(DEFAULT_ANSWER_PATTERN if pattern is None else pattern)


def normalised_answer(text: str) -> str:
    """Compare values, not spellings: "1,200", "$1200" and "1200.0" are the same answer; other text is
    compared stripped, case-folded and without a trailing full stop."""
    text = text.strip().rstrip(".").strip()
    number = text.replace(",", "").replace("$", "")
    try:
        value = float(number)
    except ValueError:
        return text.casefold()
    if not math.isfinite(value):
        return text.casefold()
    return str(int(value)) if value == int(value) else repr(value)


def extract_answer(text: str, pattern: re.Pattern) -> str | None:
    """The last match of ``pattern`` in ``text``: its first group if it has groups, else the whole match,
    normalised; None where nothing matches."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    value = last.group(1) if pattern.groups else last.group(0)
    return None if value is None else normalised_answer(value)


def answer_match_metrics(generations: list[str], references: list[str], pattern: re.Pattern) -> tuple[dict, list[dict]]:
    """exact_match: the share of generations whose extracted answer equals the reference's (a generation
    without an answer counts as wrong); exact_match_flexible: the same with the generation's last number
    as its answer; answered: the share with an answer at all. Also one row per example."""
    flexible = re.compile(LAST_NUMBER_PATTERN)
    rows = []
    for generation, reference in zip(generations, references):
        expected = extract_answer(reference, pattern)
        extracted = extract_answer(generation, pattern)
        rows.append({"generation": generation, "extracted_answer": extracted, "reference": reference,
                     "reference_answer": expected, "correct": extracted is not None and extracted == expected,
                     "correct_flexible": expected is not None and extract_answer(generation, flexible) == expected})
    n = len(rows)
    share = (lambda key: sum(bool(r[key]) for r in rows) / n) if n else (lambda key: 0.0)
    metrics = {"exact_match": share("correct"), "exact_match_flexible": share("correct_flexible"),
               "answered": (sum(r["extracted_answer"] is not None for r in rows) / n) if n else 0.0}
    return metrics, rows
