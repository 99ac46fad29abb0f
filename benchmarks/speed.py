"""`balora train` against the Trainer + PEFT script a user would write for the same job.

Run: .venv/bin/python benchmarks/speed.py --data_dir ../shared/data --out results/speed [--rounds 2]

The job: LoRA r=8 on query/value of the packaged MiniLM, SST-2, 1,000 training examples per
class, 2 epochs, batch 32, learning rate 2e-3, max_length 128, validation (872 sentences) after
every epoch, then predictions on 2,000 test examples. Both commands get the same examples: the
benchmark writes balora's splits (same seed) to CSV files, which the hand-written script reads
the way a user reads theirs. Each round runs both commands, in alternating order, as separate
processes; the ratio is of whole-command wall times (imports and model loading included),
median over rounds. Throughputs come from each command's own record of its phases.

`--balora_args` appends flags to `balora train` (e.g. `--precision fp32`) to measure what one
change contributes; `--pythonpath` runs another checkout's balora (e.g. the code before a change).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

JOB = dict(train_samples=1000, epochs=2, batch_size=32, learning_rate=2e-3, max_length=128, lora_r=8,
           max_test_samples=2000, seed=42)


# --------------------------------------------------------------------------------------------
# The hand-written script: plain transformers + PEFT, nothing from balora.
# --------------------------------------------------------------------------------------------
def handwritten(csv_dir: Path, model_dir: str, output_dir: Path) -> dict:
    import numpy as np
    import pandas as pd
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, set_seed)

    set_seed(JOB["seed"])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def load(split):
        frame = pd.read_csv(csv_dir / f"{split}.csv")
        dataset = Dataset.from_pandas(frame)
        return dataset.map(lambda b: tokenizer(b["text"], truncation=True, max_length=JOB["max_length"]),
                           batched=True, remove_columns=["text"])

    train, validation, test = load("train"), load("validation"), load("test")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=JOB["lora_r"], lora_alpha=16, lora_dropout=0.1,
                                             target_modules=["query", "value"]))

    def accuracy(prediction):
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    args = TrainingArguments(output_dir=str(output_dir), num_train_epochs=JOB["epochs"],
                             per_device_train_batch_size=JOB["batch_size"], per_device_eval_batch_size=64,
                             learning_rate=JOB["learning_rate"], weight_decay=0.01, warmup_steps=0.1,
                             eval_strategy="epoch", save_strategy="epoch", save_total_limit=1,
                             load_best_model_at_end=True, metric_for_best_model="accuracy",
                             logging_steps=10, report_to=[], seed=JOB["seed"], disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy)
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prediction = trainer.predict(test)
    test_seconds = time.perf_counter() - started
    pd.DataFrame({"label": prediction.label_ids, "prediction": prediction.predictions.argmax(-1)}).to_csv(
        output_dir / "test_predictions.csv")
    evals = [e for e in trainer.state.log_history if "eval_accuracy" in e]
    optimising = train_seconds - sum(e["eval_runtime"] for e in evals)  # train() includes the validation passes
    return {"validation_accuracy": max(e["eval_accuracy"] for e in evals),
            "train_examples_per_s": len(train) * JOB["epochs"] / optimising,
            "test_examples_per_s": len(test) / test_seconds,
            "validation_examples_per_s": len(validation) / statistics.median(e["eval_runtime"] for e in evals)}


# --------------------------------------------------------------------------------------------
# The benchmark.
# --------------------------------------------------------------------------------------------
def write_job_csvs(data_dir: str, csv_dir: Path) -> None:
    from balora.data import get_dataset_spec, load_task_data

    data = load_task_data(get_dataset_spec("sst2"), data_dir, train_samples=JOB["train_samples"], seed=JOB["seed"],
                          max_test_samples=JOB["max_test_samples"])
    csv_dir.mkdir(parents=True, exist_ok=True)
    for split, frame in data.splits.items():
        frame[["text", "label"]].to_csv(csv_dir / f"{split}.csv", index=False)


def balora_command(args, name: str) -> list[str]:
    flags = dict(experiment_name=name, dataset="sst2", data_dir=args.data_dir, peft_method="lora",
                 results_dir=str(args.out / "balora"), **JOB)
    return ([sys.executable, "-m", "balora", "train", "--overwrite"]
            + [part for key, value in flags.items() for part in (f"--{key}", str(value))]
            + shlex.split(args.balora_args))


def balora_figures(results_dir: Path) -> dict:
    from balora.record import read_results_record  # the hand-written script's process imports nothing of balora

    results = read_results_record(results_dir / "results_final.json")
    timing, sizes = results.timing, results.data.sizes
    evals = [json.loads(line) for line in (results_dir / "metrics.jsonl").read_text().splitlines()]
    eval_runtimes = [e["runtime"] for e in evals if e.get("type") == "eval" and "runtime" in e]
    return {"validation_accuracy": results.validation("accuracy"),
            "train_examples_per_s": sizes.train * results.config["epochs"]
            / (timing.train_seconds - sum(eval_runtimes)),  # the training clock includes validation
            "test_examples_per_s": sizes.test / timing.eval_seconds,
            "validation_examples_per_s": sizes.validation / statistics.median(eval_runtimes)}


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for both commands' outputs")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--balora_args", default="", help="extra flags for balora train")
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH for balora train (another checkout's src)")
    parser.add_argument("--train_samples", type=int, default=JOB["train_samples"],
                        help="per class; smaller for a quick look at what a change pays (the job: 1000)")
    parser.add_argument("--max_test_samples", type=int, default=JOB["max_test_samples"], help="the job: 2000")
    parser.add_argument("--first_round", type=int, default=1,
                        help="number of the first round (rounds alternate who goes first: odd ones start hand-written)")
    parser.add_argument("--handwritten_only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    JOB.update(train_samples=args.train_samples, max_test_samples=args.max_test_samples)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    if args.handwritten_only:  # the child process of one hand-written round
        from balora.modeling import resolve_model_path  # only to find the packaged model's folder

        out = args.out / "handwritten"
        out.mkdir(parents=True, exist_ok=True)
        figures = handwritten(args.out / "csv", resolve_model_path("all-MiniLM-L6-v2"), out / "trainer")
        (out / "figures.json").write_text(json.dumps(figures))
        return

    write_job_csvs(args.data_dir, args.out / "csv")
    hand_command = [sys.executable, __file__, "--handwritten_only", "--data_dir", args.data_dir, "--out", str(args.out),
                    "--train_samples", str(args.train_samples), "--max_test_samples", str(args.max_test_samples)]
    balora_env = {**env, **({"PYTHONPATH": args.pythonpath} if args.pythonpath else {})}
    walls = {"handwritten": [], "balora": []}
    figures = {"handwritten": [], "balora": []}
    for round_ in range(args.first_round - 1, args.first_round - 1 + args.rounds):
        order = ["handwritten", "balora"] if round_ % 2 == 0 else ["balora", "handwritten"]
        for who in order:
            load = os.getloadavg()[0]
            if who == "handwritten":
                walls[who].append(timed(hand_command, env))
                figures[who].append(json.loads((args.out / "handwritten" / "figures.json").read_text()))
            else:
                name = f"speed_round{round_}"
                walls[who].append(timed(balora_command(args, name), balora_env))
                results_dir = args.out / "balora" / name
                figures[who].append(balora_figures(results_dir))
            shown = {k: round(v, 4) for k, v in figures[who][-1].items()}
            print(f"round {round_ + 1} {who:12s} {walls[who][-1]:7.1f} s  (load average before: {load:.1f}) {shown}",
                  flush=True)

    median = {who: statistics.median(w) for who, w in walls.items()}
    print(f"\nwhole-command wall time, median of {args.rounds}: hand-written {median['handwritten']:.1f} s, "
          f"balora train {median['balora']:.1f} s -> ratio {median['handwritten'] / median['balora']:.2f}x")
    for key in ("train_examples_per_s", "validation_examples_per_s", "test_examples_per_s", "validation_accuracy"):
        hand = statistics.median(f[key] for f in figures["handwritten"])
        ours = statistics.median(f[key] for f in figures["balora"])
        scale, unit = (100, "%") if key == "validation_accuracy" else (1, "")
        print(f"{key:27s} hand-written {scale * hand:8.1f}{unit}   balora {scale * ours:8.1f}{unit}")
    summary = {"walls": walls, "figures": figures, "balora_args": args.balora_args, "pythonpath": args.pythonpath}
    (args.out / "speed_summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
