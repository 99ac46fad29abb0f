"""Experiment folders as `balora train` writes them, with chosen numbers, for analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

from balora.record import ResultsRecord


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
        parameters={"adapter": adapter, "head": 770, "trainable": adapter + 770, "total": 22_000_000 + adapter,
                    "peak_adapter": adapter},
        data={"label_names": ["negative", "positive"]},
        timing={"total_seconds": seconds},
        config=settings,
    ).as_dict()
    (path / "results_final.json").write_text(json.dumps(results))
    (path / "config.json").write_text(json.dumps(settings))
    records = [{"type": "train", "step": s, "epoch": s / 10, "loss": 0.7 - 0.02 * s} for s in range(1, 21)]
    records += [{"type": "eval", "step": 10 * e, "epoch": float(e), "loss": 0.6 - 0.05 * e,
                 "accuracy": accuracy - 0.05 * (2 - e)} for e in (1, 2)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path
