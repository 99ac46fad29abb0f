import pandas as pd
import pytest

from balora.data import get_dataset_spec, load_task_data
from balora.data.tokenize import tokenize_split
from balora.errors import UserError


def write(path, frame):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def test_local_layout_is_read_with_the_hub_column_names(tiny_data_dir):
    data = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir))
    assert data.sizes() == {"train": 72, "validation": 20, "test": 8}
    assert list(data.splits["train"].columns) == ["text", "label"]
    assert data.source.startswith("local:")


def test_data_dir_falls_back_to_the_environment(tiny_data_dir, monkeypatch):
    monkeypatch.setenv("BALORA_DATA_DIR", str(tiny_data_dir))
    assert load_task_data(get_dataset_spec("sst2")).sizes()["validation"] == 20


def test_missing_file_names_the_expected_path(tmp_path):
    with pytest.raises(UserError, match=r"expected .*cola_dataset/cola_train.csv"):
        load_task_data(get_dataset_spec("cola"), str(tmp_path))


def test_missing_column_is_named(tmp_path):
    write(tmp_path / "sst2_dataset" / "sst2_train.csv", pd.DataFrame({"text": ["a"], "label": [0]}))
    with pytest.raises(UserError, match="missing column 'sentence'"):
        load_task_data(get_dataset_spec("sst2"), str(tmp_path))


def test_labels_outside_the_range_are_rejected(tmp_path):
    write(tmp_path / "sst2_dataset" / "sst2_train.csv", pd.DataFrame({"sentence": ["a", "b"], "label": [0, 2]}))
    with pytest.raises(UserError, match=r"labels outside 0..1 .*found 2"):
        load_task_data(get_dataset_spec("sst2"), str(tmp_path))


def test_empty_split_is_rejected(tmp_path):
    write(tmp_path / "sst2_dataset" / "sst2_train.csv", pd.DataFrame({"sentence": [], "label": []}))
    with pytest.raises(UserError, match="empty"):
        load_task_data(get_dataset_spec("sst2"), str(tmp_path))


def test_unreadable_hub_says_how_to_pass_data_dir(monkeypatch):
    monkeypatch.delenv("BALORA_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(UserError, match="could not load cola from the Hugging Face Hub.*--data_dir"):
        load_task_data(get_dataset_spec("cola"))


def test_tweet_eval_text_is_cleaned(tmp_path):
    frame = pd.DataFrame({"text": ["@a I &lt;3 it http://x.y", "meh   ok"] * 10, "label": [1, 0] * 10})
    write(tmp_path / "tweet_eval_irony_dataset" / "tweet_eval_irony_train.csv", frame)
    data = load_task_data(get_dataset_spec("tweet_eval_irony"), str(tmp_path))
    texts = set(pd.concat(data.splits.values())["text"])
    assert texts == {"[USER] I <3 it [URL]", "meh ok"}


def test_pair_tasks_keep_both_texts_and_tokenize_them_as_a_pair(tmp_path):
    from balora.modeling import load_tokenizer

    frame = pd.DataFrame({"question": ["is it?"] * 20, "sentence": ["it is."] * 20, "label": [0, 1] * 10})
    write(tmp_path / "qnli_dataset" / "qnli_train.csv", frame)
    data = load_task_data(get_dataset_spec("qnli"), str(tmp_path))
    assert set(data.splits["train"].columns) == {"text", "text_pair", "label"}
    tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    encoded = tokenize_split(data.splits["train"], tokenizer, max_length=32)
    ids = encoded[0]["input_ids"]
    assert ids.count(tokenizer.sep_token_id) == 2 and set(encoded[0]["token_type_ids"]) == {0, 1}


def test_dynamic_padding_leaves_examples_unpadded(tiny_data_dir):
    from balora.modeling import load_tokenizer

    data = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir))
    encoded = tokenize_split(data.splits["train"], load_tokenizer("all-MiniLM-L6-v2"), max_length=128)
    assert max(len(x) for x in encoded["input_ids"]) < 128


def test_csv_dataset_with_string_labels_and_given_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    write(path, pd.DataFrame({"body": [f"r{i}" for i in range(30)], "stars": ["high", "low", "mid"] * 10}))
    spec = get_dataset_spec("csv", text_column="body", label_column="stars")
    data = load_task_data(spec, train_files=(str(path), None, None))
    assert data.spec.label_names == ("high", "low", "mid")
    assert set(data.splits["train"]["label"]) == {0, 1, 2}


def test_csv_dataset_needs_its_columns_and_file(tmp_path):
    with pytest.raises(UserError, match="--text_column is required"):
        get_dataset_spec("csv")
    with pytest.raises(UserError, match="--train_file is required"):
        load_task_data(get_dataset_spec("csv", text_column="t"))
    with pytest.raises(UserError, match="does not exist"):
        load_task_data(get_dataset_spec("csv", text_column="t"), train_files=(str(tmp_path / "no.csv"), None, None))


def test_k_shot_through_the_loader(tiny_data_dir):
    data = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir), train_samples=4, seed=3)
    assert data.splits["train"]["label"].value_counts().to_dict() == {0: 4, 1: 4}
    assert "4 per class" in data.split_origin["train"]


def test_max_test_samples_draws_a_fixed_stratified_subset(tmp_path):
    train = pd.DataFrame({"sentence": [f"t{i}" for i in range(40)], "label": [0, 1] * 20})
    test = pd.DataFrame({"sentence": [f"x{i}" for i in range(100)], "label": [0] * 80 + [1] * 20})
    write(tmp_path / "sst2_dataset" / "sst2_train.csv", train)
    write(tmp_path / "sst2_dataset" / "sst2_test.csv", test)
    a = load_task_data(get_dataset_spec("sst2"), str(tmp_path), max_test_samples=10, seed=1)
    b = load_task_data(get_dataset_spec("sst2"), str(tmp_path), max_test_samples=10, seed=2)
    assert a.splits["test"]["label"].value_counts().to_dict() == {0: 8, 1: 2}
    assert a.splits["test"]["text"].tolist() == b.splits["test"]["text"].tolist()  # not the experiment seed
    assert "10 drawn from it" in a.split_origin["test"]


def test_a_class_without_training_examples_is_refused_unless_allowed(tmp_path):
    frame = pd.DataFrame({"text": [f"news {i}" for i in range(30)], "label": [0, 1, 2] * 10})  # no Sci/Tech
    write(tmp_path / "ag_news_dataset" / "ag_news_train.csv", frame)
    with pytest.raises(UserError, match="no example of class 'Sci/Tech' .*--allow_missing_classes"):
        load_task_data(get_dataset_spec("ag_news"), str(tmp_path))
    data = load_task_data(get_dataset_spec("ag_news"), str(tmp_path), allow_missing_classes=True)
    assert data.spec.num_labels == 4 and set(data.splits["train"]["label"]) == {0, 1, 2}
