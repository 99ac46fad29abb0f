"""The statistics of compare, checked against hand computations on fixed data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from balora.analysis import stats


def test_holm_matches_a_hand_computation():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> kept at 0.06 (monotone)
    assert stats.holm([0.01, 0.04, 0.03, 0.005, None]) == pytest.approx([0.03, 0.06, 0.06, 0.02, None])
    assert stats.holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1
    assert stats.holm([0.2]) == [0.2]  # one test: nothing to correct
    assert stats.holm([None, float("nan")]) == [None, None]


def test_paired_summary_matches_a_hand_computation():
    from scipy.stats import ttest_1samp

    summary = stats.paired_summary([0.01, 0.02, 0.00])  # mean 0.01, sample std 0.01
    half = 4.302652729911275 * 0.01 / math.sqrt(3)  # t(0.975, df=2), from a table
    assert summary.mean == pytest.approx(0.01) and summary.std == pytest.approx(0.01) and summary.n == 3
    assert (summary.low, summary.high) == pytest.approx((0.01 - half, 0.01 + half))
    assert summary.p_value == pytest.approx(ttest_1samp([0.01, 0.02, 0.00], 0).pvalue)
    assert summary.cohens_dz == pytest.approx(1.0)
    one = stats.paired_summary([0.03])
    assert one.mean == pytest.approx(0.03) and one.low is None and one.p_value is None
    flat = stats.paired_summary([0.02, 0.02])
    assert (flat.low, flat.high) == pytest.approx((0.02, 0.02)) and flat.p_value is None and flat.cohens_dz is None


LABELS = np.array([0, 1, 1, 0, 1, 0, 0, 1])
METHOD = [np.array([0, 1, 1, 0, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1, 0, 0, 1])]  # per seed
REFERENCE = [np.array([0, 1, 0, 1, 1, 1, 0, 1]), np.array([1, 1, 0, 0, 1, 0, 1, 1])]


def test_paired_bootstrap_matches_a_hand_computation():
    samples = 500
    low, high = stats.paired_bootstrap(LABELS, METHOD, REFERENCE, "accuracy", samples=samples, seed=7, chunk=64)
    # By hand: one draw of example indices per replicate (the same generator and seed), accuracy of
    # each seed's pair on those examples, the difference averaged over the seeds, 2.5th/97.5th percentiles.
    draws = np.random.default_rng(7).integers(0, len(LABELS), size=(samples, len(LABELS)))
    differences = []
    for idx in draws:
        per_seed = [np.mean(m[idx] == LABELS[idx]) - np.mean(r[idx] == LABELS[idx]) for m, r in zip(METHOD, REFERENCE)]
        differences.append(sum(per_seed) / len(per_seed))
    assert (low, high) == pytest.approx(tuple(np.percentile(differences, [2.5, 97.5])))
    assert low < 0.25 < high  # the observed difference: (7/8 - 5/8 + 7/8 - 5/8) / 2


def test_bootstrap_of_identical_predictions_is_zero():
    assert stats.paired_bootstrap(LABELS, METHOD, METHOD, samples=50) == (0.0, 0.0)


@pytest.mark.parametrize("name", ["f1_macro", "matthews_correlation", "accuracy"])
def test_metrics_from_confusion_counts_agree_with_sklearn(name):
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    reference = {"accuracy": accuracy_score, "matthews_correlation": matthews_corrcoef,
                 "f1_macro": lambda y, p: f1_score(y, p, average="macro", labels=[0, 1, 2], zero_division=0)}[name]
    rng = np.random.default_rng(3)
    labels, predictions = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
    predictions[:25] = labels[:25]
    indices = rng.integers(0, 40, size=(5, 40))
    computed = stats.FROM_CONFUSION[name](stats._confusions(labels, predictions, indices, 3))
    assert computed == pytest.approx([reference(labels[i], predictions[i]) for i in indices])


def test_verdict():
    assert stats.verdict([(0.01, 0.03), (0.005, 0.02)], 0.01) == "better"
    assert stats.verdict([(0.01, 0.03), (0.005, 0.02)], 0.01, higher_is_better=False) == "worse"
    assert stats.verdict([(-0.01, 0.03), (0.005, 0.02)], 0.01) == "not distinguishable"
    assert stats.verdict([(0.01, 0.03), (-0.005, 0.02)], 0.01) == "not distinguishable"
    assert stats.verdict([(0.01, 0.03), (None, None)], 0.20) == "not distinguishable"  # Holm says no
    assert stats.verdict([(None, None), (0.01, 0.02)], None) == "—"  # one seed


def test_seeds_needed_matches_published_sample_sizes():
    # Paired t-test, two-sided alpha 0.05, power 0.8: d_z = 1 needs 10 pairs, d_z = 0.5 needs 34 (G*Power).
    assert stats.seeds_needed(1.0, 1.0) == 10
    assert stats.seeds_needed(0.5, 1.0) == 34
    assert stats.power(1.0, 1.0, 10) == pytest.approx(0.8, abs=0.04)
    assert stats.seeds_needed(0.001, 1.0, most=50) is None


def test_power_of_a_large_effect_is_a_number():
    # scipy's noncentral t gives nan for the wrong-sided tail far out; that read as "not enough seeds" (7)
    assert stats.power(2.0, 0.3, 6) == pytest.approx(1.0)
    assert stats.seeds_needed(2.0, 0.3) == 3


def test_paired_bootstrap_of_macro_f1_matches_a_hand_computation():
    from sklearn.metrics import f1_score

    low, high = stats.paired_bootstrap(LABELS, METHOD, REFERENCE, "f1_macro", samples=300, seed=5, chunk=64)
    draws = np.random.default_rng(5).integers(0, len(LABELS), size=(300, len(LABELS)))
    f1 = lambda p, idx: f1_score(LABELS[idx], p[idx], average="macro", labels=[0, 1], zero_division=0)
    differences = [np.mean([f1(m, idx) - f1(r, idx) for m, r in zip(METHOD, REFERENCE)]) for idx in draws]
    assert (low, high) == pytest.approx(tuple(np.percentile(differences, [2.5, 97.5])))
