"""`balora push` with the Hub out of reach: one line, exit code 2, nothing uploaded."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_train

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_model_dir):
    from conftest import sentiment_frame

    root = tmp_path_factory.mktemp("push")
    data = root / "data" / "sst2_dataset"
    data.mkdir(parents=True)
    sentiment_frame(40).to_csv(data / "sst2_train.csv", index=False)
    run_train(root, root / "data", tiny_model_dir, epochs=1)
    return root / "tiny"


def push(experiment, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": SRC, "HF_TOKEN": "hf_not_a_real_token", **env}
    return subprocess.run([sys.executable, "-m", "balora", "push", "--experiment", str(experiment),
                           "--repo_id", "someone/tiny-lora"], capture_output=True, text=True, env=environment,
                          timeout=300)


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"},
                                 # nothing listens on the discard port: the connection is refused at once
                                 {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}],
                         ids=["offline", "unreachable"])
def test_push_without_the_hub_is_one_line_and_exit_2(finished, env):
    done = push(finished, **env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: push ")
    assert "someone/tiny-lora" in done.stderr and "Traceback" not in done.stderr
    if env["HF_HUB_OFFLINE"] == "1":
        assert "HF_HUB_OFFLINE" in done.stderr


def test_push_of_an_unfinished_experiment_names_what_is_missing(tmp_path):
    done = push(tmp_path / "nothing", HF_HUB_OFFLINE="1")
    assert done.returncode == 2 and "no finished experiment there" in done.stderr
