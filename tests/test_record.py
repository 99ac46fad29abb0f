"""results_final.json is one typed record: what train writes is what every reader reads."""

import ast
import json
from pathlib import Path

import pytest

from balora.errors import UserError
from balora.record import (DataSummary, MemorySummary, ParameterCounts, ProcessPeak, ResultsRecord, RuntimeSummary,
                           Timing, read_results_record)
from helpers import run_train

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).parents[1] / "src" / "balora"
# results_final.json files written by balora before the record's sections were typed (c73b652): a LoRA
# run on SST-2, and a BA-LoRA run on CoLA (its method phases are flat keys of "timing").
OLD_FILES = ["results_final_lora_sst2.json", "results_final_ba_lora_cola.json"]


def test_train_returns_the_record_it_writes(tmp_path, tiny_data_dir, tiny_model_dir):
    returned = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    assert isinstance(returned, ResultsRecord)
    record = read_results_record(tmp_path / "tiny" / "results_final.json")
    assert record.as_dict() == json.loads(json.dumps(returned.as_dict(), default=str))
    assert record.validation() == returned.metrics["validation"]["accuracy"]
    assert isinstance(record.parameters, ParameterCounts) and isinstance(record.data, DataSummary)
    assert isinstance(record.timing, Timing) and isinstance(record.memory, MemorySummary)
    assert isinstance(record.runtime, RuntimeSummary) and isinstance(record.peak_memory, ProcessPeak)
    assert record.data.sizes.train == 72 and record.timing.optimizer_steps == 9
    assert record.memory.trainable_parameters == record.parameters.trainable


@pytest.mark.parametrize("name", OLD_FILES)
def test_an_old_results_file_reads_into_typed_sections_and_writes_back_the_same(name):
    text = (FIXTURES / name).read_text()
    record = read_results_record(FIXTURES / name)
    assert isinstance(record.parameters, ParameterCounts) and record.parameters.adapter > 0
    assert record.data.sizes.test == 32 and record.data.label_names
    assert record.timing.total_seconds > record.timing.train_seconds > 0
    assert record.memory.quantization == "none" and record.peak_memory.peak_mb > 0
    # the same JSON: every key, every value, in the same order
    assert json.dumps(record.as_dict(), indent=2) + "\n" == text


def test_the_old_ba_lora_file_keeps_its_method_phases():
    record = read_results_record(FIXTURES / "results_final_ba_lora_cola.json")
    assert set(record.timing.phases) >= {"importance_seconds", "allocation_seconds"}
    assert record.timing.phase("importance_seconds") > 0
    assert list(record.timing.as_dict())[:2] == ["setup_seconds", "importance_seconds"]


def test_a_file_of_another_shape_is_one_line_naming_it_and_the_fields(tmp_path):
    path = tmp_path / "results_final.json"
    path.write_text(json.dumps({"experiment_name": "x", "method": "lora", "score": 1}))
    with pytest.raises(UserError, match=r"results_final.json: not a results record of this balora; missing "
                                        r"config, dataset, headline_metric, metrics, parameters, seed; unknown score"):
        read_results_record(path)


def test_a_section_of_another_shape_is_one_line_naming_the_section(tmp_path):
    old = json.loads((FIXTURES / OLD_FILES[0]).read_text())
    old["parameters"] = {"adapter": 1, "head": 2, "trainable": 3, "budget": 5}
    path = tmp_path / "results_final.json"
    path.write_text(json.dumps(old))
    with pytest.raises(UserError, match=r"results_final.json: parameters: not a section of this balora's results; "
                                        r"missing total; unknown budget"):
        read_results_record(path)


def test_counts_written_before_the_peak_was_recorded_read_with_the_peak_at_the_adapter():
    counts = {"adapter": 10, "head": 2, "trainable": 12, "total": 100}
    assert ParameterCounts.from_dict(counts, "old").peak_adapter == 10


def test_the_record_names_what_readers_rely_on():
    fields = set(ResultsRecord.__dataclass_fields__)
    assert {"metrics", "parameters", "config", "headline_metric", "timing", "method_summary", "memory"} <= fields


# The sections of results_final.json, and the keys inside them: reading one by a string key
# (results.parameters["adapter"], memory["peak_training_bytes"]) outside the record module is
# what the typed record is for; a renamed field would leave such a reader silently stale.
SECTIONS = {"parameters", "data", "timing", "peak_memory", "runtime", "memory", "sizes"}
HOLDERS = SECTIONS - {"sizes"}  # `sizes` alone is also TaskData.sizes(), the data as loaded
RECORD_MODULES = {"record.py", "record_sections.py"}
# `balora count`'s report (balora/count.py) is a dict of its own, not a results record; typing it is
# separate work of issue 26. Reads of it elsewhere are told apart by the name it is held in.
NOT_RESULTS = {"count.py"}
COUNT_REPORTS = {"report", "counted", "planned"}


def string_key_reads(path: Path) -> list[str]:
    """`x.section["..."]`, `x["section"]` and `section["key"]` reads, where section is a results section."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            continue
        key, value = node.slice.value, node.value
        holder = value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else None
        if isinstance(value, ast.Call) or holder in COUNT_REPORTS:
            continue
        if holder in HOLDERS or (key in SECTIONS and holder in {"results", "record", "final", "run"}):
            found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_string_key_read_of_a_results_section_outside_the_record_module():
    reads = [read for path in sorted(SRC.rglob("*.py")) if path.name not in RECORD_MODULES | NOT_RESULTS
             for read in string_key_reads(path)]
    assert reads == []


def test_the_string_key_check_finds_the_reads_it_is_for(tmp_path):
    # the reads the typed record replaced (analysis/table.py, memory/accounting.py, benchmarks)
    bad = tmp_path / "balora" / "bad.py"
    bad.parent.mkdir()
    bad.write_text('a = run.results.parameters["adapter"]\nb = memory["peak_training_bytes"]\n'
                   'c = results["timing"]\nd = lora.data["sizes"]\ne = report["parameters"]\n')
    global SRC
    saved, SRC = SRC, tmp_path / "balora"
    try:
        assert [line.split(": ", 1)[1] for line in string_key_reads(bad)] == [
            "run.results.parameters['adapter']", "memory['peak_training_bytes']", "results['timing']",
            "lora.data['sizes']"]
    finally:
        SRC = saved


def test_eval_files_are_read_by_task_and_a_foreign_one_is_one_line(tmp_path):
    import json

    import pytest

    from balora.errors import UserError
    from balora.record import read_harness_scores

    scores = {"task": "sums", "experiment": "x", "base_model": "m", "method": "lora",
              "tuned": {"acc": 0.5, "acc_stderr": 0.1}, "untuned": {"acc": 0.25}, "examples": None, "limit": 6,
              "num_fewshot": None, "batch_size": 8, "include_path": None, "adapter_check": {}, "higher_is_better": None,
              "lm_eval_version": "0.4", "task_config": None}
    (tmp_path / "eval_sums.json").write_text(json.dumps(scores))
    read = read_harness_scores(tmp_path)
    assert list(read) == ["sums"] and read["sums"].metrics() == ["acc"] and read["sums"].as_dict() == scores
    (tmp_path / "eval_other.json").write_text(json.dumps({"task": "other", "score": 1}))
    with pytest.raises(UserError, match="eval_other.json: not a section of this balora's results; missing "):
        read_harness_scores(tmp_path)
