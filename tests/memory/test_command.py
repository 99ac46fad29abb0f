"""`balora memory`'s method entries, limit and table, without measuring anything."""

import pytest

from balora.errors import UserError
from balora.memory.command import default_limit_bytes, parse_method_item, table_lines
from balora.memory.finder import BatchSearch


def test_a_method_entry_is_a_name_and_its_changed_flags():
    entry = parse_method_item("lora  --quantization nf4 --lora_r 16")
    assert (entry.label, entry.peft_method) == ("lora --quantization nf4 --lora_r 16", "lora")
    assert entry.settings == {"lora_r": 16, "quantization": "nf4"}
    assert parse_method_item("full").settings == {}


@pytest.mark.parametrize("item, message", [
    ("full --quantization nf4", "--quantization does not apply to --peft_method full"),
    ("lora --quantization nf5", "quantization"),
    ("qlora", "unknown --peft_method 'qlora'"),
    ("lora --bogus 1", "unrecognized arguments: --bogus 1"),
])
def test_bad_entries_are_one_line(item, message):
    with pytest.raises(UserError, match=message):
        parse_method_item(item)


def test_the_limit_is_required_without_a_gpu():
    import torch

    assert default_limit_bytes(2) == 2 * 10**9
    with pytest.raises(UserError, match="positive"):
        default_limit_bytes(0)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--memory_limit_gb is required"):
            default_limit_bytes(None)


def test_table_reports_the_largest_fitting_batch():
    full = parse_method_item("full")
    lines = table_lines([(full, BatchSearch(3, 4, {1: 5 * 10**8, 2: 10**9, 3: 15 * 10**8, 4: None})),
                         (full, BatchSearch(None, 1, {1: 3 * 10**9}))], 2 * 10**9)
    assert lines[0].startswith("| method | largest batch within 2 GB |")
    assert lines[2] == "| full | 3 | 1.500 | 4 | 1, 2, 3, 4 |"
    assert lines[3] == "| full | none | — | 1 | 1 |"
