"""Experiment folders as `balora train` writes them, with chosen numbers, for analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

from balora.record import DataSummary, ParameterCounts, ResultsRecord, SplitSizes, Timing


def counts(adapter: int, head: int, base: int) -> ParameterCounts:
    return ParameterCounts(adapter=adapter, head=head, trainable=adapter + head, total=base + adapter + head,
                           peak_adapter=adapter)


def data(label_names: list[str]) -> DataSummary:
    return DataSummary(source="local:fake", sizes=SplitSizes(train=1000, validation=100, test=100),
                       split_origin={}, label_names=label_names)


def timing(seconds: float) -> Timing:
    return Timing(setup_seconds=1.0, train_seconds=seconds - 2.0, eval_seconds=1.0, total_seconds=seconds)


def fake_run(results_dir: Path, name: str, method: str = "lora", seed: int = 42, accuracy: float = 0.8,
             adapter: int = 73728, dataset: str = "sst2", seconds: float = 100.0, **config) -> Path:
    path = Path(results_dir) / name
    path.mkdir(parents=True)
    settings = {"experiment_name": name, "dataset": dataset, "peft_method": method, "seed": seed,
                "model_name_or_path": "m", "epochs": 2, "learning_rate": 2e-3, "train_samples": None,
                "max_test_samples": None, "results_dir": str(results_dir), **config}
    metrics = {"accuracy": accuracy, "f1_macro": accuracy - 0.01, "precision_macro": accuracy,
               "recall_macro": accuracy, "matthews_correlation": 2 * accuracy - 1}
    correct = round(100 * accuracy)
    results = ResultsRecord(
        experiment_name=name, method=method, dataset=dataset, seed=seed, headline_metric="accuracy",
        metrics={"validation": {**metrics, "loss": 0.5},
                 "test": {**metrics, "confusion_matrix": [[correct // 2, 50 - correct // 2],
                                                          [50 - (correct - correct // 2), correct - correct // 2]]}},
        parameters=counts(adapter, 770, 22_000_000 - 770),
        data=data(["negative", "positive"]),
        timing=timing(seconds),
        config=settings,
    ).as_dict()
    (path / "results_final.json").write_text(json.dumps(results))
    (path / "config.json").write_text(json.dumps(settings))
    records = [{"type": "train", "step": s, "epoch": s / 10, "loss": 0.7 - 0.02 * s} for s in range(1, 21)]
    records += [{"type": "eval", "step": 10 * e, "epoch": float(e), "loss": 0.6 - 0.05 * e,
                 "accuracy": accuracy - 0.05 * (2 - e)} for e in (1, 2)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def fake_language_run(results_dir: Path, name: str, method: str = "lora", seed: int = 42, perplexity: float = 8.0,
                      rouge: float | None = None, adapter: int = 73728, dataset: str = "alpaca", **config) -> Path:
    """A causal_lm (or, with ``rouge``, a generation) experiment: perplexity, ROUGE, no classes."""
    path = Path(results_dir) / name
    path.mkdir(parents=True)
    settings = {"experiment_name": name, "dataset": dataset, "peft_method": method, "seed": seed,
                "model_name_or_path": "m", "epochs": 1, "learning_rate": 5e-4, "train_samples": 200,
                "max_test_samples": None, "results_dir": str(results_dir), **config}
    test = {"perplexity": perplexity, "token_nll": 2.0, "tokens": 1000}
    if rouge is not None:
        test |= {"rouge1": rouge, "rouge2": rouge / 2, "rougeL": rouge * 0.9}
    results = ResultsRecord(
        experiment_name=name, status="completed", method=method, dataset=dataset, seed=seed,
        task="generation" if rouge is not None else "causal_lm", headline_metric="perplexity",
        metrics={"validation": {"perplexity": perplexity + 0.5, "token_nll": 2.1, "loss": 2.1}, "test": test},
        parameters=counts(adapter, 0, 135_000_000), data=data([]), timing=timing(100.0), config=settings,
    ).as_dict()
    (path / "results_final.json").write_text(json.dumps(results))
    (path / "config.json").write_text(json.dumps(settings))
    records = [{"type": "train", "step": s, "epoch": s / 10, "loss": 2.5 - 0.02 * s} for s in range(1, 11)]
    records += [{"type": "eval", "step": 10, "epoch": 1.0, "loss": 2.1, "perplexity": perplexity + 0.5 + 0.1 * e}
                for e in (1,)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def fake_predictions(path: Path, labels, predictions) -> None:
    """test_predictions.csv as a classifier writes it (index, label, prediction; no texts or logits)."""
    import pandas as pd

    pd.DataFrame({"label": list(labels), "prediction": list(predictions)}).to_csv(
        Path(path) / "test_predictions.csv", index_label="index")
