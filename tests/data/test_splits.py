import pandas as pd
import pytest

from balora.data.splits import carve, has_labels, resolve_splits, sample_per_class
from balora.errors import UserError


def frame(n_per_class: dict[int, int]) -> pd.DataFrame:
    rows = [{"text": f"{label}-{i}", "label": label} for label, n in n_per_class.items() for i in range(n)]
    return pd.DataFrame(rows)


def test_missing_validation_and_test_are_carved_disjoint_stratified_ten_percent():
    train = frame({0: 500, 1: 500})
    splits, origin = resolve_splits(train, None, None, "label")
    assert len(splits["test"]) == 100 and len(splits["validation"]) == 100 and len(splits["train"]) == 800
    assert splits["test"]["label"].value_counts().to_dict() == {0: 50, 1: 50}
    texts = [set(splits[s]["text"]) for s in ("train", "validation", "test")]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert "carved" in origin["test"] and "carved" in origin["validation"]


def test_carving_is_fixed_whatever_the_experiment_seed():
    train = frame({0: 300, 1: 100})
    a, _ = resolve_splits(train, None, None, "label")
    b, _ = resolve_splits(train.sample(frac=1.0, random_state=7).sort_index(), None, None, "label")
    assert a["test"]["text"].tolist() == b["test"]["text"].tolist()
    # stratified: the 3:1 class ratio survives in the carved split
    assert a["test"]["label"].value_counts().to_dict() == {0: 30, 1: 10}


def test_unlabeled_glue_test_split_is_replaced_by_a_carve():
    train, validation = frame({0: 50, 1: 50}), frame({0: 5, 1: 5})
    glue_test = pd.DataFrame({"text": ["a", "b"], "label": [-1, -1]})
    assert not has_labels(glue_test, "label")
    splits, origin = resolve_splits(train, validation, glue_test, "label")
    assert (splits["test"]["label"] >= 0).all() and len(splits["test"]) == 10
    assert origin["validation"] == "validation"


def test_existing_splits_are_kept():
    train, validation, test = frame({0: 10, 1: 10}), frame({0: 3, 1: 3}), frame({0: 4, 1: 4})
    splits, origin = resolve_splits(train, validation, test, "label")
    assert len(splits["train"]) == 20 and len(splits["test"]) == 8
    assert origin == {"train": "train", "validation": "validation", "test": "test"}


def test_k_shot_draws_k_per_class_seeded():
    train = frame({0: 100, 1: 40, 2: 70})
    a = sample_per_class(train, 16, "label", seed=1)
    assert a["label"].value_counts().to_dict() == {0: 16, 1: 16, 2: 16}
    assert a.equals(sample_per_class(train, 16, "label", seed=1))
    assert not a.equals(sample_per_class(train, 16, "label", seed=2))


def test_k_shot_above_a_class_size_is_a_clear_error():
    with pytest.raises(UserError, match="more than class 1 has in the training split \\(40\\)"):
        sample_per_class(frame({0: 100, 1: 40}), 41, "label", seed=0)


def test_carve_of_a_tiny_split_falls_back_to_an_unstratified_split():
    rest, carved = carve(frame({0: 1, 1: 9}), 1, "label")
    assert len(carved) == 1 and len(rest) == 9
