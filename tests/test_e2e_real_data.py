"""Real runs: the packaged all-MiniLM-L6-v2 on ../shared/data (skipped when that folder is absent)."""

import json

import pytest

from conftest import shared_data_or_skip
from helpers import reload_with_plain_peft, run_train

pytestmark = pytest.mark.e2e


def test_lora_on_cola_reports_matthews_correlation(tmp_path):
    data_dir = shared_data_or_skip("cola")
    results = run_train(tmp_path, data_dir, "all-MiniLM-L6-v2", dataset="cola", train_samples=48, epochs=1,
                        batch_size=16, learning_rate=2e-3, max_length=64)
    assert results["headline_metric"] == "matthews_correlation"
    assert results["data"]["sizes"] == {"train": 96, "validation": 1043, "test": 855}
    assert -1.0 <= results["metrics"]["test"]["matthews_correlation"] <= 1.0
    assert results["parameters"]["adapter"] == 6 * 2 * 8 * (384 + 384)
    log = (tmp_path / "tiny" / "training_log.txt").read_text()
    assert "Matthews Correlation:" in log


def test_lora_learns_sst2(tmp_path):
    """A short real run must learn: 200 examples per class, well above chance on validation."""
    data_dir = shared_data_or_skip("sst2")
    results = run_train(tmp_path, data_dir, "all-MiniLM-L6-v2", dataset="sst2", train_samples=200, epochs=2,
                        batch_size=16, learning_rate=2e-3, max_length=64, eval_batch_size=128,
                        max_test_samples=500)
    assert results["metrics"]["validation"]["accuracy"] > 0.70
    saved = json.loads((tmp_path / "tiny" / "results_final.json").read_text())
    assert saved["data"]["split_origin"]["test"].startswith("carved from train")


@pytest.mark.parametrize("method, settings", [
    ("adalora", {"param_budget": 73_728}),
    ("layerwise", {"rank_strategy": "empirical", "param_budget": 73_728}),
    ("plateau_lora", {"eval_steps": 2, "plateau_patience": 1}),
])
def test_baselines_run_on_sst2_and_reload_with_plain_peft(tmp_path, method, settings):
    data_dir = shared_data_or_skip("sst2")
    results = run_train(tmp_path, data_dir, "all-MiniLM-L6-v2", dataset="sst2", peft_method=method,
                        train_samples=32, epochs=2, batch_size=16, learning_rate=2e-3, max_test_samples=200,
                        method_settings=settings)
    assert results["status"] == "completed"
    if method != "plateau_lora":
        assert abs(results["parameters"]["adapter"] - 73_728) <= 96  # AdaLoRA: E adds one value per rank
    reload_with_plain_peft(tmp_path / "tiny", data_dir, "all-MiniLM-L6-v2", max_test_samples=200)
