"""results_final.json is one typed record: what train writes is what every reader reads."""

import json

import pytest

from balora.errors import UserError
from balora.record import ResultsRecord, read_results_record
from helpers import run_train


def test_train_writes_a_results_record_every_reader_can_read(tmp_path, tiny_data_dir, tiny_model_dir):
    returned = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    record = read_results_record(tmp_path / "tiny" / "results_final.json")
    assert record.as_dict() == json.loads(json.dumps(returned, default=str))
    assert record.validation() == returned["metrics"]["validation"]["accuracy"]
    assert record.memory is not None and record.parameters["adapter"] == returned["parameters"]["adapter"]


def test_a_file_of_another_shape_is_one_line_naming_it_and_the_fields(tmp_path):
    path = tmp_path / "results_final.json"
    path.write_text(json.dumps({"experiment_name": "x", "method": "lora", "score": 1}))
    with pytest.raises(UserError, match=r"results_final.json: not a results record of this balora; missing "
                                        r"config, dataset, headline_metric, metrics, parameters, seed; unknown score"):
        read_results_record(path)


def test_the_record_names_what_readers_rely_on():
    fields = set(ResultsRecord.__dataclass_fields__)
    assert {"metrics", "parameters", "config", "headline_metric", "timing", "method_summary", "memory"} <= fields
