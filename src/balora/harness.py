"""`balora eval`: EleutherAI's lm-evaluation-harness on an experiment's model with its adapter applied,
and on the untuned base for reference, the way litgpt, axolotl and torchtune evaluate fine-tuned LLMs.

An adapter that silently is not applied scores exactly as the base (lm-evaluation-harness #511, #808):
before the base is evaluated, the adapted and the untuned model's log-likelihoods of the task's first
inputs are compared, and identical ones stop the command."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from balora.errors import TrainingFailure, UserError
from balora.training.trackers import environment

INSTALL = "pip install 'balora[eval]'"
CHECKED_EXAMPLES = 4  # inputs whose log-likelihoods must differ between the adapted and the base model
BOOTSTRAP_ITERS = 1000  # lm-eval's stderr bootstrap for metrics without a closed form (its default, 100,000, takes minutes)


def require_lm_eval() -> None:
    if importlib.util.find_spec("lm_eval") is None:
        raise UserError(f"balora eval runs lm-evaluation-harness, which is not installed: {INSTALL}")


@dataclass
class ModelPair:
    """The fine-tuned model and a way to the untuned one: the same model with its adapter switched off,
    or (a full fine-tune) the base model loaded beside it."""

    tokenizer: Any
    tuned: Any
    base: Any | None = None

    @contextlib.contextmanager
    def untuned(self):
        if self.base is not None:
            yield self.base
        else:
            with self.tuned.disable_adapter():
                yield self.tuned


def load_pair(record, checkpoint: Path) -> ModelPair:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from balora.modeling import resolve_model_path, training_device

    device = training_device()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    base = AutoModelForCausalLM.from_pretrained(resolve_model_path(record.model_name_or_path)).to(device).eval()
    if (checkpoint / "adapter_config.json").exists():
        from peft import PeftModel

        return ModelPair(tokenizer, PeftModel.from_pretrained(base, checkpoint).to(device).eval())
    return ModelPair(tokenizer, AutoModelForCausalLM.from_pretrained(checkpoint).to(device).eval(), base)


def sample_texts(samples: list[dict], count: int) -> list[str]:
    """The model inputs of a task's first logged samples (contexts and continuations joined)."""

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from strings(item)

    texts = ["".join(strings(sample.get("arguments", []))) for sample in samples[:count]]
    return [text for text in texts if text]


def loglikelihoods(model, tokenizer, texts: list[str]):
    """Summed log-probability of each text's tokens after the first, teacher-forced."""
    import torch

    rows = []
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")["input_ids"][:, :1024].to(model.device)
            logits = model(input_ids=ids).logits.float()
            rows.append(torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None]).sum())
    return torch.stack(rows).cpu() if rows else torch.zeros(0)


def check_adapter_applied(pair: ModelPair, texts: list[str], task: str) -> float:
    """The largest difference in log-likelihood between the adapted and the untuned model on ``texts``;
    none at all means the adapter is not in the forward pass."""
    tuned = loglikelihoods(pair.tuned, pair.tokenizer, texts)
    with pair.untuned() as base:
        untuned = loglikelihoods(base, pair.tokenizer, texts)
    if len(texts) and bool((tuned == untuned).all()):
        raise TrainingFailure(f"the adapted and the untuned model give identical log-likelihoods on the first {len(texts)} "
                              f"inputs of {task}: the adapter is not applied, so its scores would be the base's "
                              "(lm-evaluation-harness #511 / #808); nothing was written")
    return float((tuned - untuned).abs().max()) if len(texts) else 0.0


def task_manager(include_path: str | None, tasks: list[str]):
    from lm_eval.tasks import TaskManager

    if include_path is not None and not Path(include_path).is_dir():
        raise UserError(f"--include_path {include_path}: no such folder")
    if include_path is not None:  # indexing lm-eval's own thousands of task files takes minutes on a busy CPU
        manager = TaskManager(include_path=include_path, include_defaults=False)
        if all(task in manager.all_tasks for task in tasks):
            return manager
    manager = TaskManager(include_path=include_path)
    unknown = [task for task in tasks if task not in manager.all_tasks]
    if unknown:
        raise UserError(f"--tasks: lm-eval knows no task {', '.join(unknown)}"
                        + ("" if include_path else "; --include_path DIR for a folder of your own task YAML"))
    return manager


def evaluate(model, tokenizer, tasks: list[str], manager, limit, num_fewshot, batch_size: int) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    try:
        # lm-eval bootstraps a stderr in a multiprocessing pool forked from this process unless
        # DISABLE_MULTIPROC is set. Forked from a process holding torch's threads, the pool can hang
        # as it closes (a worker started while it terminates waits on a queue lock nobody frees: a
        # CI run sat 30 minutes in it); BOOTSTRAP_ITERS draws in this process take under a second.
        with environment({"DISABLE_MULTIPROC": "1"}):
            return simple_evaluate(model=lm, tasks=tasks, num_fewshot=num_fewshot, limit=limit,
                                   task_manager=manager, log_samples=True, bootstrap_iters=BOOTSTRAP_ITERS)
    except (OSError, ConnectionError) as err:  # a Hub task's data, offline
        raise UserError(f"--tasks {','.join(tasks)}: lm-eval cannot load the data ({type(err).__name__}: "
                        f"{(str(err).splitlines() or [''])[0]}); offline, give local task YAML (dataset_path: json, "
                        "data_files) with --include_path") from None


def scores(task_results: dict) -> dict[str, float]:
    """lm-eval's "acc,none" / "acc_stderr,none" keys as acc / acc_stderr (a filter other than none is kept)."""
    out = {}
    for key, value in task_results.items():
        if "," not in key or not isinstance(value, (int, float)):
            continue
        metric, filter_name = key.split(",", 1)
        out[metric if filter_name == "none" else key] = float(value)
    return out


def task_line(task: str, tuned: dict, untuned: dict) -> str:
    parts = []
    for metric in (m for m in tuned if not m.endswith("_stderr") and "_stderr," not in m):
        error = tuned.get(f"{metric}_stderr")
        base, base_error = untuned.get(metric), untuned.get(f"{metric}_stderr")
        # .4g: lm-eval's loglikelihood "perplexity" of long responses runs to 1e60 and beyond
        parts.append(f"{metric} tuned {tuned[metric]:.4g}" + (f" ± {error:.4g}" if error is not None else "")
                     + (f", untuned {base:.4g}" if base is not None else "")
                     + (f" ± {base_error:.4g}" if base_error is not None else ""))
    return f"{task}: " + "; ".join(parts)


def quiet_lm_eval() -> None:
    """lm-eval logs each request batch and warns that a model object, not a name, was handed to it."""
    for name in ("lm-eval", "lm_eval", "lm_eval.models.huggingface", "lm_eval.evaluator"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_eval(experiment: str, tasks: str, limit: int | None = None, num_fewshot: int | None = None,
             batch_size: int = 8, include_path: str | None = None, say=print) -> list[Path]:
    """Evaluate, check, then write eval_<task>.json for every task lm-eval reports; returns their paths."""
    from importlib.metadata import version

    from balora.push import finished_experiment
    from balora.record import HarnessScores, read_results_record
    from balora.results import atomic_write_json

    require_lm_eval()
    names = [name.strip() for name in tasks.split(",") if name.strip()]
    if not names:
        raise UserError("--tasks: name at least one lm-eval task")
    path, checkpoint = finished_experiment(experiment)
    record = read_results_record(path / "results_final.json")
    if record.task == "classification":
        raise UserError(f"--experiment {experiment}: a classifier; balora eval runs lm-eval on causal language models "
                        "(tasks causal_lm, generation, answer_match)")
    quiet_lm_eval()
    manager = task_manager(include_path, names)
    pair = load_pair(record, checkpoint)
    tuned = evaluate(pair.tuned, pair.tokenizer, names, manager, limit, num_fewshot, batch_size)
    checks = {task: check_adapter_applied(pair, sample_texts(samples, CHECKED_EXAMPLES), task)
              for task, samples in tuned.get("samples", {}).items()}
    with pair.untuned() as base:
        untuned = evaluate(base, pair.tokenizer, names, manager, limit, num_fewshot, batch_size)
    written = []
    for task, results in tuned["results"].items():
        tuned_scores, untuned_scores = scores(results), scores(untuned["results"].get(task, {}))
        say(task_line(task, tuned_scores, untuned_scores))
        file = path / f"eval_{task}.json"
        atomic_write_json(file, HarnessScores(
            task=task, experiment=record.experiment_name, base_model=record.model_name_or_path,
            method=record.method, tuned=tuned_scores, untuned=untuned_scores,
            examples=tuned.get("n-samples", {}).get(task), limit=limit, num_fewshot=num_fewshot,
            batch_size=batch_size, include_path=include_path,
            adapter_check={"inputs": CHECKED_EXAMPLES, "max_loglikelihood_difference": checks.get(task)},
            higher_is_better=tuned.get("higher_is_better", {}).get(task), lm_eval_version=version("lm_eval"),
            task_config=tuned.get("configs", {}).get(task)).as_dict())
        written.append(file)
    return written
