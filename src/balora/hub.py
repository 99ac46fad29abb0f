"""Datasets and models from the Hugging Face Hub, failing in seconds when the Hub is out of reach.

`datasets.load_dataset` retries an unreachable Hub for half a minute or more before it gives up;
one request with a short timeout says the same in a few seconds. With HF_HUB_OFFLINE
or HF_DATASETS_OFFLINE set, the Hub is not asked at all and `datasets` reads its own cache.
"""

from __future__ import annotations

import os
import threading

from balora.errors import UserError

CONNECT_TIMEOUT_SECONDS = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"


class HubUnreachable(UserError):
    """The Hub could not be reached or read; ``reason`` says how, for the caller's message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def offline_mode() -> bool:
    return any(os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
               for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def unreachable_reason(timeout: float | None = None) -> str | None:
    """None if the Hub answers a request within ``timeout`` seconds (any HTTP status: something is
    there, and `datasets` says what it thinks of it); else why not. urllib goes through an HTTPS
    proxy if one is set. The request runs in a daemon thread, so a name lookup that hangs cannot
    hold the caller either."""
    import urllib.error
    import urllib.request

    timeout = CONNECT_TIMEOUT_SECONDS if timeout is None else timeout
    url = endpoint()
    outcome: list[str | None] = []

    def attempt():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            outcome.append(None)
        except urllib.error.HTTPError:
            outcome.append(None)  # it answered
        except (OSError, ValueError) as err:  # URLError, timeouts, TLS failures, a malformed HF_ENDPOINT
            reason = getattr(err, "reason", err)
            outcome.append(f"{url}: {getattr(reason, 'strerror', None) or reason}")

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return outcome[0] if outcome else f"{url}: no answer within {timeout:g} s"


def load_hub_dataset(path: str, config: str | None):
    """``datasets.load_dataset(path, config)``, or HubUnreachable in seconds when the Hub is out of reach."""
    if not offline_mode():
        reason = unreachable_reason()
        if reason is not None:
            raise HubUnreachable(f"the Hugging Face Hub is unreachable ({reason})")
    try:
        import datasets

        return datasets.load_dataset(path, config)
    except Exception as err:  # any failure to reach or read the Hub means the same to the user
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise HubUnreachable(f"reading {path} failed ({reason})") from None


def check_hub_model(repo_id: str) -> None:
    """A Hub model that is not in the local cache needs the Hub: say so in seconds when it is out of
    reach, rather than after the Hub client's minute and a half of retries. A cached model is left
    to transformers, which falls back to the cache."""
    if offline_mode():
        return  # transformers reads the cache and fails at once without it
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, "config.json"), str):
        return
    reason = unreachable_reason()
    if reason is not None:
        raise UserError(f"--model_name_or_path {repo_id}: not in the local Hugging Face cache, and the Hub is "
                        f"unreachable ({reason}); pass a local model folder, or leave the flag out for the "
                        "packaged default model")
