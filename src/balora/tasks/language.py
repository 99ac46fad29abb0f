"""Causal language modelling on prompt / response pairs (instruction tuning) and generation
(summarisation): trained the same way, tested by perplexity, and generation also by ROUGE on
greedy outputs."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

from balora.errors import UserError
from balora.tasks.base import EvaluationInputs, TestOutcome, TrainerEvaluation
from balora.tasks.language_metrics import perplexity_metrics, preprocess_logits, rouge_metrics, token_nll, \
    trainer_perplexity


@contextlib.contextmanager
def untuned_view(model):
    """The model as it was before fine-tuning: a PEFT model with its adapters switched off; any other
    model is untouched until training starts."""
    disable = getattr(model, "disable_adapter", None)
    with disable() if disable is not None else contextlib.nullcontext():
        yield model


def model_device(model) -> torch.device:
    return next(model.parameters()).device


def evaluation_autocast(model, config):
    """The number format the Trainer evaluates in (--precision), for the passes it does not run."""
    from balora.training.precision import precision_autocast

    return precision_autocast(model_device(model).type, config.precision)


@torch.no_grad()
def dataset_perplexity(model, dataset, collator, batch_size: int) -> dict:
    """Perplexity of ``dataset`` by the same arithmetic as the Trainer's evaluation."""
    from torch.utils.data import DataLoader

    from balora.training.batching import by_length

    was_training, rows = model.training, []
    model.eval()
    device = model_device(model)
    try:
        for batch in DataLoader(by_length(dataset)[0], batch_size=batch_size, collate_fn=collator):
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            rows.append(token_nll(logits, batch["labels"]).cpu())
    finally:
        model.train(was_training)
    return perplexity_metrics(torch.cat(rows).numpy())


def write_jsonl(path: Path, rows: list[dict]) -> None:
    from balora.results import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


class CausalLMTask:
    name = "causal_lm"
    text_to_text = True

    def metric(self, spec) -> str:
        return "perplexity"

    def validation_metrics(self, spec) -> tuple[str, ...]:
        return ("loss", "perplexity", "token_nll")

    def num_labels(self, spec) -> int | None:
        return None  # a language model, not a classifier

    def load_data(self, spec, config):
        from balora.data.text_pairs import load_text_pairs

        return load_text_pairs(spec, config.data_dir, (config.train_file, config.validation_file, config.test_file),
                               config.train_samples, config.seed, config.max_test_samples,
                               config.max_validation_samples)

    def describe(self, spec) -> str:
        return f"{self.name}: {spec.prompt_column} -> {spec.response_column}"

    def encode(self, data, tokenizer, config, say) -> dict:
        from balora.tasks.encoding import encode_splits

        if tokenizer.eos_token_id is None:  # e.g. BERT: transformers loads it as a "causal LM" all the same
            raise UserError(f"--model_name_or_path {config.model_name_or_path}: its tokenizer has no end-of-sequence "
                            f"token, so it cannot learn where a response ends; task {self.name} needs a decoder "
                            "language model (e.g. SmolLM2-135M-Instruct, the default for prompt / response data)")

        return encode_splits(data.splits, data.spec, tokenizer, config.max_length, config.train_on_prompt, say)

    def collator(self, tokenizer):
        from balora.tasks.encoding import CausalLMCollator

        return CausalLMCollator(tokenizer.pad_token_id)

    def trainer_evaluation(self, spec) -> TrainerEvaluation:
        from balora.metric_registry import metric

        return TrainerEvaluation("perplexity", metric("perplexity").higher_is_better, trainer_perplexity,
                                 preprocess_logits)

    def untuned(self, model, inputs: EvaluationInputs) -> dict | None:
        """The base model's scores on the same examples, for comparison (--untuned_baseline)."""
        if not inputs.config.untuned_baseline:
            return None
        from balora.modeling import training_device

        model.to(training_device())
        with untuned_view(model), evaluation_autocast(model, inputs.config):
            scores = {"validation": dataset_perplexity(model, inputs.tokenized["validation"], inputs.collator,
                                                       inputs.config.eval_batch_size)}
            if inputs.test_split:
                scores.update(self.untuned_test(model, inputs))
        inputs.say(f"Untuned model: validation perplexity {scores['validation']['perplexity']:.3f}"
                   + (f"; test perplexity {scores['test']['perplexity']:.3f}{self.extra_line(scores['test'])}"
                      if "test" in scores else ""))
        return scores

    def untuned_test(self, model, inputs) -> dict:
        """The untuned model's test perplexity, to set beside the tuned model's."""
        return {"test": dataset_perplexity(model, inputs.tokenized["test"], inputs.collator,
                                           inputs.config.eval_batch_size)}

    def kept_validation(self, model, inputs: EvaluationInputs) -> dict:
        """Validation scores of the kept model beyond the Trainer's (answer_match: exact match)."""
        return {}

    def extra_line(self, metrics: dict) -> str:
        return ""

    def test(self, trainer, model, inputs: EvaluationInputs) -> TestOutcome:
        from balora.training.batching import by_length

        predicted = trainer.predict(by_length(inputs.tokenized["test"])[0])
        metrics = perplexity_metrics(predicted.predictions)
        inputs.say(f"Test perplexity: {metrics['perplexity']:.3f}")
        return TestOutcome(metrics)


class GenerationTask(CausalLMTask):
    name = "generation"

    def generations(self, model, inputs: EvaluationInputs, description: str) -> list[str]:
        from balora.generation import generate_greedy

        test = inputs.tokenized["test"]
        prompts = [ids[:length] for ids, length in zip(test["input_ids"], test["prompt_length"])]
        with evaluation_autocast(model, inputs.config):
            return generate_greedy(model, inputs.tokenizer, prompts, inputs.config.max_new_tokens,
                                   inputs.config.eval_batch_size, model_device(model), description,
                                   report=lambda done, total: inputs.say(f"{description}: {done:,} of {total:,} "
                                                                         "test examples"))

    def untuned_test(self, model, inputs) -> dict:
        """Perplexity and ROUGE of the untuned model's generations on the same test examples."""
        test = super().untuned_test(model, inputs)["test"]
        return {"test": {**test, **rouge_metrics(self.generations(model, inputs, "Generating (untuned)"),
                                                 inputs.tokenized["test"]["reference"], inputs.config.rouge_use_stemmer)}}

    def extra_line(self, metrics: dict) -> str:
        return (f", ROUGE-1/2/L/Lsum {100 * metrics['rouge1']:.2f} / {100 * metrics['rouge2']:.2f} / "
                f"{100 * metrics['rougeL']:.2f} / {100 * metrics['rougeLsum']:.2f}")

    def test(self, trainer, model, inputs: EvaluationInputs) -> TestOutcome:
        outcome = super().test(trainer, model, inputs)
        generated = self.generations(model, inputs, "Generating")
        references = inputs.tokenized["test"]["reference"]
        outcome.metrics.update(rouge_metrics(generated, references, inputs.config.rouge_use_stemmer))
        inputs.say("Test" + self.extra_line(outcome.metrics).removeprefix(",") + f" on {len(references)} examples "
                   f"(greedy, at most {inputs.config.max_new_tokens} new tokens)")
        rows = [{"index": i, "reference": ref, "generation": gen} for i, (ref, gen) in enumerate(zip(references, generated))]
        outcome.files["test_generations.jsonl"] = lambda path: write_jsonl(path, rows)
        return outcome
