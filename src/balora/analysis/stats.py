"""Statistics of paired comparisons, as pure functions of numbers (no files, no runs).

A comparison is a method against the reference at the same seeds, on the same test examples.
Two kinds of noise can make it look better or worse than it is, and each interval speaks to one:
the seed (a t-interval over the per-seed differences) and the test sample (a paired bootstrap
over test examples, the same resampled examples for both methods and every seed). Several
comparisons in one table are corrected together (Holm), so "one of twelve came out p < 0.05"
is not read as a finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0  # a fixed seed: the same runs give the same interval every time compare runs


@dataclass(frozen=True)
class PairedSummary:
    """Per-seed differences (method minus reference) summarised: mean, t-interval, p, effect size."""

    mean: float
    n: int
    std: float | None  # sample std of the differences; None for one pair
    low: float | None  # the 95% t-interval over seeds; None below two pairs
    high: float | None
    p_value: float | None  # paired t-test, two-sided; None below two pairs or without spread
    cohens_dz: float | None  # mean / std of the differences; None without spread


def paired_summary(differences: list[float], confidence: float = CONFIDENCE) -> PairedSummary:
    """A one-sample t analysis of per-seed paired differences (equivalent to a paired t-test)."""
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    n, mean = len(d), float(d.mean())
    if n < 2:
        return PairedSummary(mean, n, None, None, None, None, None)
    std = float(d.std(ddof=1))
    if std == 0:  # no spread: the interval is the point, and a t statistic is undefined
        return PairedSummary(mean, n, 0.0, mean, mean, None, None)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    p_value = float(2 * stats.t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))
    return PairedSummary(mean, n, std, mean - half, mean + half, p_value, mean / std)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None entries are not tests and stay None).

    Sorted ascending, the i-th smallest (0-based) of m is multiplied by m - i, the running maximum
    keeps the adjusted values in the same order, and none exceeds 1."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p))
    m, adjusted, running = len(tested), list(p_values), 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return [None if p is None or (isinstance(p, float) and math.isnan(p)) else p for p in adjusted]


# A metric of one test set from its confusion counts, vectorised over bootstrap replicates:
# counts has shape (replicates, classes, classes), true class by row.
def _accuracy(counts: np.ndarray) -> np.ndarray:
    return np.trace(counts, axis1=1, axis2=2) / counts.sum(axis=(1, 2))


def _f1_macro(counts: np.ndarray) -> np.ndarray:
    true_positive = np.diagonal(counts, axis1=1, axis2=2)
    denominator = counts.sum(axis=2) + counts.sum(axis=1)  # support + predicted, per class
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * true_positive / denominator, 0.0)
    return f1.mean(axis=1)  # sklearn's macro F1 with zero_division=0, over every class


def _matthews(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=(1, 2)).astype(float)
    correct = np.trace(counts, axis1=1, axis2=2).astype(float)
    true, predicted = counts.sum(axis=2).astype(float), counts.sum(axis=1).astype(float)
    numerator = correct * total - (true * predicted).sum(axis=1)
    denominator = np.sqrt(total**2 - (predicted**2).sum(axis=1)) * np.sqrt(total**2 - (true**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, 0.0)


FROM_CONFUSION = {"accuracy": _accuracy, "f1_macro": _f1_macro, "matthews_correlation": _matthews}


def _confusions(labels: np.ndarray, predictions: np.ndarray, indices: np.ndarray, classes: int) -> np.ndarray:
    cells = labels[indices] * classes + predictions[indices]  # (replicates, examples)
    offsets = np.arange(len(indices))[:, None] * classes * classes
    flat = np.bincount((cells + offsets).ravel(), minlength=len(indices) * classes * classes)
    return flat.reshape(len(indices), classes, classes)


def paired_bootstrap(labels: np.ndarray, predictions: list[np.ndarray], reference: list[np.ndarray],
                     metric: str = "accuracy", samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                     confidence: float = CONFIDENCE, chunk: int = 200) -> tuple[float, float]:
    """Percentile interval of the metric difference (method minus reference, mean over seeds) when
    the test examples are resampled with replacement: one draw of example indices per replicate,
    shared by both methods and by every seed (each seed's pair scored the same test examples).

    ``labels``: the test labels; ``predictions`` / ``reference``: one array of predicted classes per
    seed, in the same order. Replicates are drawn ``chunk`` at a time to bound memory on large test sets."""
    score = FROM_CONFUSION[metric]
    labels = np.asarray(labels, dtype=np.int64)
    classes = int(max(labels.max(), *(p.max() for p in (*predictions, *reference)))) + 1
    rng = np.random.default_rng(seed)
    # Accuracy is a mean over examples: the mean over seeds of each example's difference in
    # correctness, averaged over a resample, is the same number without a confusion matrix.
    pooled = np.mean([(np.asarray(p) == labels).astype(float) - (np.asarray(r) == labels)
                      for p, r in zip(predictions, reference)], axis=0) if metric == "accuracy" else None
    differences = []
    for start in range(0, samples, chunk):
        indices = rng.integers(0, len(labels), size=(min(chunk, samples - start), len(labels)))
        if pooled is not None:
            differences.append(pooled[indices].mean(axis=1))
            continue
        per_seed = [score(_confusions(labels, np.asarray(p, dtype=np.int64), indices, classes))
                    - score(_confusions(labels, np.asarray(r, dtype=np.int64), indices, classes))
                    for p, r in zip(predictions, reference)]
        differences.append(np.mean(per_seed, axis=0))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(np.concatenate(differences), [tail, 100 - tail])
    return float(low), float(high)


def verdict(intervals: list[tuple[float | None, float | None]], adjusted_p: float | None,
            higher_is_better: bool = True, alpha: float = 1 - CONFIDENCE) -> str:
    """"better" / "worse" only when every interval we have excludes 0 and the Holm-adjusted p-value
    is below alpha; "not distinguishable" otherwise; "—" without an interval over seeds (one seed)."""
    known = [(low, high) for low, high in intervals if low is not None and high is not None]
    if not known or intervals[0][0] is None:
        return "—"
    if any(low <= 0 <= high for low, high in known) or adjusted_p is None or adjusted_p >= alpha:
        return "not distinguishable"
    return "better" if (known[0][0] > 0) == higher_is_better else "worse"


def power(difference: float, std: float, seeds: int, alpha: float = 1 - CONFIDENCE) -> float:
    """Power of a two-sided paired t-test over ``seeds`` pairs to detect a true mean ``difference``
    when per-seed differences spread with standard deviation ``std`` (noncentral t)."""
    from scipy import stats

    if seeds < 2:
        return 0.0
    df, noncentrality = seeds - 1, abs(difference) / std * math.sqrt(seeds)
    critical = stats.t.ppf(1 - alpha / 2, df)
    # The wrong-sided tail is astronomically small for a large noncentrality, where scipy returns nan.
    wrong_side = float(stats.nct.cdf(-critical, df, noncentrality))
    return float(stats.nct.sf(critical, df, noncentrality)) + (0.0 if math.isnan(wrong_side) else wrong_side)


def seeds_needed(difference: float, std: float, target: float = 0.8, alpha: float = 1 - CONFIDENCE,
                 most: int = 1000) -> int | None:
    """The fewest seeds whose paired t-test detects ``difference`` with probability ``target``
    (None beyond ``most``)."""
    for seeds in range(2, most + 1):
        if power(difference, std, seeds, alpha) >= target:
            return seeds
    return None
