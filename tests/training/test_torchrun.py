"""Two CPU processes under torchrun (gloo) train, evaluate in length-sorted order and write predictions in the
data's order, the same predictions a plain-PEFT reload of the saved adapter gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import sentiment_frame
from helpers import reload_with_plain_peft


@pytest.mark.e2e
def test_two_processes_under_torchrun_finish_with_predictions_in_data_order(tmp_path, tiny_model_dir):
    folder = tmp_path / "data" / "sst2_dataset"
    folder.mkdir(parents=True)
    for split, n, seed in (("train", 60, 1), ("validation", 13, 2)):  # 13: the processes get unequal shares
        frame = sentiment_frame(n, seed=seed)
        frame["sentence"] = [" ".join(s.split() * 3)[: 4 + 7 * (i % 9)] for i, s in enumerate(frame["sentence"])]
        frame.to_csv(folder / f"sst2_{split}.csv", index=False)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
               "-m", "balora", "train", "--experiment_name", "tiny", "--data_dir", str(tmp_path / "data"),
               "--model_name_or_path", tiny_model_dir, "--results_dir", str(tmp_path), "--epochs", "1",
               "--batch_size", "4", "--learning_rate", "5e-3", "--precision", "fp32"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "tiny" / "status.json").read_text())["status"] == "completed"
    results = json.loads((tmp_path / "tiny" / "results_final.json").read_text())
    assert results["data"]["sizes"]["validation"] == 13
    # one data-parallel group: 54 training examples in batches of 4 on each of 2 processes (two
    # processes each training alone on all of them took 14 steps)
    assert results["data"]["sizes"]["train"] == 54 and results["timing"]["optimizer_steps"] == 7
    import pandas as pd

    saved = pd.read_csv(tmp_path / "tiny" / "test_predictions.csv")
    assert saved["index"].tolist() == list(range(len(saved)))
    reload_with_plain_peft(tmp_path / "tiny", tmp_path / "data", tiny_model_dir)
