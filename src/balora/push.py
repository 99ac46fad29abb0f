"""`balora push`: an experiment's saved model folder (adapter, tokenizer, model card) and its
results_final.json, uploaded to a Hub model repository through huggingface_hub."""

from __future__ import annotations

from pathlib import Path

from balora.errors import UserError
from balora.model_card import CARD_FILE, write_model_card


def finished_experiment(experiment: str) -> tuple[Path, Path]:
    """The experiment folder and its model_checkpoint/, or one line saying what is missing."""
    path = Path(experiment)
    if not (path / "results_final.json").is_file():
        raise UserError(f"--experiment {experiment}: no finished experiment there (no results_final.json)")
    checkpoint = path / "model_checkpoint"
    if not checkpoint.is_dir():
        raise UserError(f"--experiment {experiment}: it has no model_checkpoint/ to push")
    return path, checkpoint


def hub_failure(err: Exception) -> str:
    """What went wrong, on one line, without the library's retry chatter."""
    from huggingface_hub.errors import LocalTokenNotFoundError, OfflineModeIsEnabled

    if isinstance(err, OfflineModeIsEnabled):
        return "the Hub is switched off here (HF_HUB_OFFLINE is set)"
    if isinstance(err, LocalTokenNotFoundError):
        return "no Hugging Face token (run `hf auth login` or set HF_TOKEN)"
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{type(err).__name__}: {first}"


def push_experiment(experiment: str, repo_id: str, private: bool = False) -> str:
    """Upload and return the repository's URL. The card is (re)written from results_final.json first, so
    runs saved before cards existed get one too."""
    from huggingface_hub import HfApi

    from balora.record import read_results_record

    path, checkpoint = finished_experiment(experiment)
    record = read_results_record(path / "results_final.json")
    if not (checkpoint / CARD_FILE).is_file() or "base_model:" not in (checkpoint / CARD_FILE).read_text():
        write_model_card(record, checkpoint)
    api = HfApi()
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=checkpoint,
                          commit_message=f"balora: {record.method} on {record.dataset} ({record.experiment_name})")
        api.upload_file(path_or_fileobj=str(path / "results_final.json"), path_in_repo="results_final.json",
                        repo_id=repo_id, commit_message="balora: results_final.json")
    except KeyboardInterrupt:
        raise
    except Exception as err:  # network, auth, a bad repo id: whichever the Hub client raises, one line
        raise UserError(f"push {experiment} to {repo_id}: {hub_failure(err)}") from None
    return str(url)
