"""Every method on SST-2 at the budget of LoRA r=8: adapter and peak parameters, validation accuracy
over 3 seeds, wall time relative to LoRA, all measured in one run on one machine.

Run: .venv/bin/python benchmarks/budget_matched_baselines.py --data_dir ../shared/data --output baselines.json

Budget-aware methods get --param_budget = what LoRA r=8 costs on the same modules (query, value);
plateau_lora starts at rank 2 and may grow to 8, so its peak is at most that budget. Every method
uses the same learning rate, epochs and data. Seeds run in the outer loop so that load on the
machine falls on every method alike; wall time is the whole run (setup, method phases, training,
evaluation), the fastest of the seeds over LoRA's fastest. Finished runs are read back, so an
interrupted run resumes (and rerunning a finished benchmark just prints its table).
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

LORA_R8_QV_MINILM = 6 * 2 * 8 * (384 + 384)  # 73,728: 12 query/value matrices of 384x384 at rank 8


def methods(budget: int) -> dict[str, tuple[str, dict]]:
    return {
        "lora r=8": ("lora", {"lora_r": 8}),
        "ba_lora (warm start)": ("ba_lora", {"param_budget": budget, "ba_lora_use_warmstart": True}),
        "adalora": ("adalora", {"param_budget": budget}),
        "layerwise linear_decay": ("layerwise", {"rank_strategy": "linear_decay", "param_budget": budget}),
        "layerwise attention_heavy": ("layerwise", {"rank_strategy": "attention_heavy", "param_budget": budget}),
        "layerwise empirical": ("layerwise", {"rank_strategy": "empirical", "param_budget": budget}),
        "plateau_lora 2->8": ("plateau_lora", {"plateau_initial_rank": 2, "plateau_max_rank": 8,
                                               "plateau_patience": 2}),
    }


def run(label: str, method: str, settings: dict, seed: int, args) -> dict:
    name = f"sst2_{label.split()[0]}_{'_'.join(label.split()[1:]) or 'base'}_s{seed}".replace("(", "").replace(
        ")", "").replace("=", "").replace("->", "to")
    finished = Path(args.results_dir) / name / "results_final.json"
    if finished.exists():
        return json.loads(finished.read_text())
    config = TrainConfig(experiment_name=name, dataset="sst2", data_dir=args.data_dir, peft_method=method,
                         train_samples=args.train_samples, epochs=args.epochs, learning_rate=args.learning_rate,
                         seed=seed, results_dir=args.results_dir, max_test_samples=args.max_test_samples,
                         overwrite=True)
    return train(config, build_options(**settings), Console(quiet=True))


def spread(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--train_samples", type=int, default=500, help="per class")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning_rate", type=float, default=2e-3)
    parser.add_argument("--max_test_samples", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=LORA_R8_QV_MINILM)
    parser.add_argument("--results_dir", default="results/baselines")
    parser.add_argument("--output", default="baselines.json")
    args = parser.parse_args()

    table = methods(args.budget)
    runs: dict[str, list[dict]] = {label: [] for label in table}
    for seed in args.seeds:
        for label, (method, settings) in table.items():
            result = run(label, method, settings, seed, args)
            runs[label].append(result)
            print(f"seed {seed} {label:28s} val {100 * result['metrics']['validation']['accuracy']:.2f} "
                  f"adapter {result['parameters']['adapter']:,} {result['timing']['total_seconds']:.0f} s", flush=True)

    # Fastest of the seeds: the run least disturbed by anything else on the machine.
    lora_seconds = min(r["timing"]["total_seconds"] for r in runs["lora r=8"])
    report = {"settings": vars(args), "rows": {}}
    print("\n| method | adapter params | peak params | val accuracy (3 seeds) | wall time / LoRA |")
    print("|---|---:|---:|---|---:|")
    for label, results in runs.items():
        adapter = [r["parameters"]["adapter"] for r in results]
        peak = [r["parameters"]["peak_adapter"] for r in results]
        accuracy = spread([100 * r["metrics"]["validation"]["accuracy"] for r in results])
        ratio = min(r["timing"]["total_seconds"] for r in results) / lora_seconds
        report["rows"][label] = {"adapter": adapter, "peak_adapter": peak, "validation_accuracy": accuracy,
                                 "wall_time_vs_lora": ratio}
        count = f"{min(adapter):,}" if min(adapter) == max(adapter) else f"{min(adapter):,}-{max(adapter):,}"
        top = f"{max(peak):,}"
        print(f"| {label} | {count} | {top} | {accuracy['mean']:.1f} ± {accuracy['std']:.1f} | {ratio:.2f} |")
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
