"""What BA-LoRA's phases 1-3 cost, measured against LoRA in one run, on the same data and settings.

Run: .venv/bin/python benchmarks/ba_lora_overhead.py --data_dir ../shared/data

1. Both methods through the real pipeline (`balora train`) on the same SST-2 subset: the ratio of
   BA-LoRA's phases 1-4 to LoRA's training time.
2. The importance pass's seconds per example / a training step's seconds per example (target <= 1).
3. Projected overhead of phases 1-3 on the study's SST-2 protocol (the full train split, 3 epochs,
   1000 gradient samples): phase 1-3 seconds / (step seconds per example * examples * epochs)
   (target <= 3%). The full protocol is too long for a CPU, so its training time is projected from
   the per-example time of plain training steps (forward, backward, AdamW; no evaluation) measured
   here too; on a GPU, pass --train_samples 0 to train on all of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from balora.config import TrainConfig
from balora.console import Console
from balora.methods import build_options
from balora.record import ResultsRecord
from balora.train import train

TARGET_OVERHEAD = 0.03
TARGET_PER_EXAMPLE_RATIO = 1.0
SST2_TRAIN_AFTER_CARVING = 60_614  # 67,349 minus the 10% carved for test
PROTOCOL_EPOCHS = 3


def run(method: str, results_dir: str, args, **method_settings) -> ResultsRecord:
    config = TrainConfig(
        experiment_name=f"bench_{method}", dataset="sst2", data_dir=args.data_dir, peft_method=method,
        train_samples=args.train_samples or None, epochs=args.epochs, batch_size=32, learning_rate=2e-3,
        results_dir=results_dir, max_length=128, seed=args.seed, max_test_samples=500,
    )
    return train(config, build_options(lora_r=8, **method_settings), Console(quiet=True))


def train_step_seconds_per_example(args, steps: int = 30) -> float:
    """Forward, backward and AdamW step of LoRA r=8 on batches of 32 SST-2 sentences, no evaluation."""
    import time

    import torch
    from torch.utils.data import DataLoader

    from balora.data import get_dataset_spec, load_task_data
    from balora.data.tokenize import padding_collator, tokenize_split
    from balora.methods import MethodContext
    from balora.methods.lora.method import prepare_lora
    from balora.modeling import load_classifier, load_tokenizer

    config = TrainConfig(experiment_name="bench_step", data_dir=args.data_dir)
    data = load_task_data(get_dataset_spec("sst2"), args.data_dir, train_samples=steps * 16, seed=args.seed)
    tokenizer = load_tokenizer(config.model_name_or_path)
    dataset = tokenize_split(data.splits["train"], tokenizer, 128)
    loaded = load_classifier(config.model_name_or_path, 2, args.seed)
    options = build_options(lora_r=8)
    context = MethodContext(config=config, options=options, head_modules=loaded.head_modules,
                            train_dataset=dataset, collator=None, say=lambda line: None)
    model = prepare_lora(loaded.model, context).model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    loader = DataLoader(dataset, batch_size=32, collate_fn=padding_collator(tokenizer))
    seen, started = 0, None
    for step, batch in enumerate(loader):
        if step == 2:  # the first steps pay one-off allocation costs
            seen, started = 0, time.perf_counter()
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        seen += batch["labels"].shape[0]
    return (time.perf_counter() - started) / seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--train_samples", type=int, default=500, help="per class; 0 = the whole train split")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--gradient_samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not (Path(args.data_dir) / "sst2_dataset").is_dir():
        print(f"SST-2 not found under {args.data_dir}; pass --data_dir", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as results_dir:
        lora = run("lora", results_dir, args)
        ba = run("ba_lora", results_dir, args, ba_lora_gradient_samples=args.gradient_samples,
                 ba_lora_use_warmstart=True, param_budget=75_000)

    step_per_example = train_step_seconds_per_example(args)
    lt, bt = lora.timing, ba.timing
    phases = bt.phase("importance_seconds") + bt.phase("allocation_seconds") + bt.phases.get("warmstart_seconds", 0.0)
    examples_trained = lora.data.sizes.train * args.epochs
    importance_per_example = bt.phase("importance_seconds") / min(args.gradient_samples, ba.data.sizes.train)
    protocol_train = step_per_example * SST2_TRAIN_AFTER_CARVING * PROTOCOL_EPOCHS
    figures = {
        "examples_trained": examples_trained,
        "train_step_seconds_per_example": step_per_example,
        "importance_seconds_per_example": importance_per_example,
        "lora_train_seconds": lt.train_seconds,
        "ba_lora_phase_seconds": {**{k: bt.phases.get(k) for k in ("importance_seconds", "allocation_seconds",
                                                                     "warmstart_seconds")},
                                  "train_seconds": bt.train_seconds},
        "wall_ratio_ba_lora_over_lora": (phases + bt.train_seconds) / lt.train_seconds,
        "importance_over_train_step_per_example": importance_per_example / step_per_example,
        "projected_protocol_overhead": phases / protocol_train,
    }
    print(json.dumps(figures, indent=2))
    ok_ratio = figures["importance_over_train_step_per_example"] <= TARGET_PER_EXAMPLE_RATIO
    ok_overhead = figures["projected_protocol_overhead"] <= TARGET_OVERHEAD
    print(f"importance pass per example / training step per example: "
          f"{figures['importance_over_train_step_per_example']:.2f} (target <= {TARGET_PER_EXAMPLE_RATIO}) "
          f"{'OK' if ok_ratio else 'MISSED'}")
    print(f"phases 1-3 on the SST-2 protocol: {100 * figures['projected_protocol_overhead']:.2f}% "
          f"(target <= {100 * TARGET_OVERHEAD:.0f}%) {'OK' if ok_overhead else 'MISSED'}")
    print(f"BA-LoRA / LoRA wall time on this run ({examples_trained:,} examples trained): "
          f"{figures['wall_ratio_ba_lora_over_lora']:.3f}")
    if args.output:
        Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok_ratio and ok_overhead else 1


if __name__ == "__main__":
    sys.exit(main())
