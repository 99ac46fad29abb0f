"""Evaluation throughput: the plain Trainer's prediction pass against balora's, in one process.

Run: .venv/bin/python benchmarks/eval_speed.py --data_dir ../shared/data --dataset imdb --max_length 256 \
         --max_test_samples 2000 [--rounds 2] [--precision bf16]

"plain" is what `balora train` did before length-sorted evaluation (and what a hand-written
script does): `Trainer.predict` over the test split in its own order, batches of 64 padded to
their longest, fp32. "balora" is today's path: the split sorted by length, the chosen precision,
predictions put back in order. Same model (the packaged MiniLM with a fresh head), same examples,
alternating passes; prints examples/s of each and their ratio (median of rounds), and checks
that both give the same predictions in the same order.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--max_test_samples", type=int, default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from transformers import Trainer, TrainingArguments

    from balora.data import get_dataset_spec, load_task_data
    from balora.data.tokenize import padding_collator, tokenize_split
    from balora.modeling import load_classifier, load_tokenizer
    from balora.training.batching import by_length, in_original_order
    from balora.training.precision import match_threads_to_cores, resolve_precision, trainer_precision_arguments

    spec = get_dataset_spec(args.dataset)
    test = load_task_data(spec, args.data_dir, train_samples=8, max_test_samples=args.max_test_samples).splits["test"]
    tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    dataset = tokenize_split(test, tokenizer, args.max_length)
    model = load_classifier("all-MiniLM-L6-v2", spec.num_labels, 42).model.eval()
    precision = resolve_precision(args.precision)
    threads = match_threads_to_cores()
    out = tempfile.mkdtemp()

    def trainer(model, **extra):
        return Trainer(model=model, data_collator=padding_collator(tokenizer), processing_class=tokenizer,
                       args=TrainingArguments(output_dir=out, per_device_eval_batch_size=64, report_to=[],
                                              disable_tqdm=True, **extra))

    # Each Trainer gets its own copy: preparing a model for bf16 wraps its forward in autocast, which
    # would otherwise leak into the plain passes.
    plain, ours = trainer(model), trainer(copy.deepcopy(model), **trainer_precision_arguments(precision))
    ordered, order = by_length(dataset)

    def plain_pass():
        return plain.predict(dataset).predictions

    def balora_pass():
        return in_original_order(order, ours.predict(ordered).predictions)

    rates, predictions = {"plain": [], "balora": []}, {}
    for round_ in range(args.rounds):
        for who, run in (("plain", plain_pass), ("balora", balora_pass))[:: 1 if round_ % 2 == 0 else -1]:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            predictions[who] = np.asarray(run())
            rates[who].append(len(dataset) / (time.perf_counter() - started))
            print(f"round {round_ + 1} {who:7s} {rates[who][-1]:7.1f} examples/s (load average {load:.1f})", flush=True)
    agree = float((predictions["plain"].argmax(-1) == predictions["balora"].argmax(-1)).mean())
    median = {who: statistics.median(r) for who, r in rates.items()}
    print(f"{args.dataset} {len(dataset)} examples, max_length {args.max_length}, {threads} threads, balora precision "
          f"{precision}: plain {median['plain']:.1f}/s, balora {median['balora']:.1f}/s -> "
          f"{median['balora'] / median['plain']:.2f}x; same prediction for {100 * agree:.1f}% of examples")


if __name__ == "__main__":
    main()
