"""With the Hub out of reach, loading and `balora download` fail in seconds with one clear line."""

from __future__ import annotations

import socket
import time

import pytest

from balora.cli import main
from balora import hub
from balora.data.loading import load_task_data
from balora.data.registry import get_dataset_spec
from balora.errors import UserError


@pytest.fixture
def silent_server():
    """A local address that takes connections and never answers: a Hub behind a dead link."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture(params=["silent", "no such host"])
def hub_out_of_reach(request, monkeypatch):
    """An endpoint that never answers or does not resolve, no offline switch, and a
    `datasets.load_dataset` that would take its own half minute of retries."""
    import datasets

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HTTP_PROXY", "http_proxy", "BALORA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    endpoint = request.getfixturevalue("silent_server") if request.param == "silent" else "http://hub.invalid"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)

    def slow_retries(*args, **kwargs):
        time.sleep(30)
        raise ConnectionError("Couldn't reach the Hub")

    monkeypatch.setattr(datasets, "load_dataset", slow_retries)


def test_loading_fails_in_seconds_when_the_hub_is_out_of_reach(hub_out_of_reach):
    started = time.monotonic()
    with pytest.raises(UserError, match=r"Hugging Face Hub: the Hugging Face Hub is unreachable .*--data_dir"):
        load_task_data(get_dataset_spec("sst2"))
    assert time.monotonic() - started < hub.CONNECT_TIMEOUT_SECONDS + 2


def test_download_says_the_hub_is_unreachable_not_to_run_download(hub_out_of_reach, tmp_path, capsys):
    started = time.monotonic()
    assert main(["download", "--dataset", "sst2", "--data_dir", str(tmp_path)]) == 2
    assert time.monotonic() - started < hub.CONNECT_TIMEOUT_SECONDS + 2
    err = capsys.readouterr().err
    assert "the Hugging Face Hub is unreachable" in err and "balora download --dataset" not in err
    assert len(err.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_a_refused_connection_is_named(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    assert hub.unreachable_reason(1.0) == "http://127.0.0.1:9: Connection refused"


def test_offline_mode_reads_the_cache_without_asking_the_hub(monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "unreachable_reason", lambda timeout=None: pytest.fail("the Hub was asked"))
    monkeypatch.setattr(datasets, "load_dataset", lambda path, config: {"train": path})
    assert hub.load_hub_dataset("nyu-mll/glue", "sst2") == {"train": "nyu-mll/glue"}


def test_an_uncached_hub_model_fails_in_seconds_when_the_hub_is_out_of_reach(hub_out_of_reach):
    """It took the Hub client 1 min 40 s of retries to give up on a tokenizer."""
    from balora.modeling import check_model_source

    started = time.monotonic()
    with pytest.raises(UserError, match=r"someorg/somemodel: not in the local Hugging Face cache, and the Hub is "
                                        r"unreachable"):
        check_model_source("someorg/somemodel")
    assert time.monotonic() - started < hub.CONNECT_TIMEOUT_SECONDS + 2
