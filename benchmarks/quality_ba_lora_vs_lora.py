"""BA-LoRA (warm start) vs LoRA at the same budget: learning rate picked on validation, then 3 seeds.

Run: .venv/bin/python benchmarks/quality_ba_lora_vs_lora.py --data_dir ../shared/data --output quality.json

For each dataset and method: every learning rate of the grid with the first seed; the one with the
best validation metric is kept and run with the other seeds. Test figures are reported, never used
to choose. The budget is that of LoRA at rank 8 on the same modules (BA-LoRA's default budget).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from balora.config import TrainConfig
from balora.console import Console
from balora.methods import build_options
from balora.train import train

METHODS = {
    "lora": {"lora_r": 8},
    "ba_lora": {"ba_lora_base_rank": 8, "ba_lora_use_warmstart": True, "ba_lora_gradient_samples": 1000},
}


def run(dataset, method, learning_rate, seed, args) -> dict:
    name = f"{dataset}_{method}_lr{learning_rate:g}_s{seed}"
    config = TrainConfig(experiment_name=name, dataset=dataset, data_dir=args.data_dir, peft_method=method,
                         train_samples=args.train_samples, epochs=args.epochs, learning_rate=learning_rate,
                         seed=seed, results_dir=args.results_dir, batch_size=32,
                         max_test_samples=args.max_test_samples)
    finished = Path(args.results_dir) / name / "results_final.json"
    if finished.exists():  # resumable: finished runs are read back, not redone
        return json.loads(finished.read_text())
    return train(config, build_options(**METHODS[method]), Console(quiet=True))


def summary(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--datasets", nargs="+", default=["sst2", "ag_news"])
    parser.add_argument("--learning_rates", nargs="+", type=float, default=[1e-3, 2e-3, 4e-3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--train_samples", type=int, default=500, help="per class")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max_test_samples", type=int, default=2000)
    parser.add_argument("--results_dir", default="results/quality")
    parser.add_argument("--output", default="quality.json")
    args = parser.parse_args()

    report = {"settings": vars(args), "results": {}}
    for dataset in args.datasets:
        for method in METHODS:
            first = {lr: run(dataset, method, lr, args.seeds[0], args) for lr in args.learning_rates}
            metric = next(iter(first.values()))["headline_metric"]
            best_lr = max(first, key=lambda lr: first[lr]["metrics"]["validation"][metric])
            runs = [first[best_lr]] + [run(dataset, method, best_lr, seed, args) for seed in args.seeds[1:]]
            report["results"][f"{dataset}/{method}"] = {
                "metric": metric, "learning_rate": best_lr,
                "grid_validation": {lr: r["metrics"]["validation"][metric] for lr, r in first.items()},
                "adapter_parameters": runs[0]["parameters"]["adapter"],
                "validation": summary([r["metrics"]["validation"][metric] for r in runs]),
                "test": summary([r["metrics"]["test"][metric] for r in runs]),
                "train_seconds": summary([r["timing"]["train_seconds"] for r in runs]),
            }
            entry = report["results"][f"{dataset}/{method}"]
            print(f"{dataset:8s} {method:8s} lr {best_lr:g}  params {entry['adapter_parameters']:,}  "
                  f"val {100 * entry['validation']['mean']:.2f} ± {100 * entry['validation']['std']:.2f}  "
                  f"test {100 * entry['test']['mean']:.2f} ± {100 * entry['test']['std']:.2f}", flush=True)
            Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
