"""Exact-match accuracy of generated final answers (GSM8K-style math word problems, or any prompt /
response data whose response ends in a value): trained as a causal LM, tested by greedy generation,
the answer pulled out of each generation and each reference by --answer_pattern."""

from __future__ import annotations

from balora.errors import UserError
from balora.tasks.answers import answer_match_metrics, compile_answer_pattern, extract_answer
from balora.tasks.base import EvaluationInputs, TestOutcome
from balora.tasks.language import CausalLMTask, evaluation_autocast, model_device, write_jsonl


def pattern_flag(config) -> str:
    pattern = compile_answer_pattern(config.answer_pattern).pattern
    return f"--answer_pattern {pattern}" if config.answer_pattern else f"the default --answer_pattern ({pattern})"


class AnswerMatchTask(CausalLMTask):
    name = "answer_match"

    def metric(self, spec) -> str:
        # The run's headline: a study selects by it. The Trainer keeps the checkpoint by validation
        # perplexity (trainer_evaluation, inherited): generating at every evaluation costs too much.
        return "exact_match"

    def describe(self, spec) -> str:
        return f"{self.name}: {spec.prompt_column} -> final answer of {spec.response_column}"

    def encode(self, data, tokenizer, config, say) -> dict:
        encoded = super().encode(data, tokenizer, config, say)
        pattern = compile_answer_pattern(config.answer_pattern)
        for split in ("validation", "test"):
            missing = sum(extract_answer(ref, pattern) is None for ref in encoded[split]["reference"])
            if missing:
                raise UserError(f"{missing} of {len(encoded[split])} {split} responses of {data.spec.name} hold no answer "
                                f"that {pattern_flag(config)} finds; task {self.name} scores "
                                "the answer it extracts")
        return encoded

    def scored(self, model, inputs: EvaluationInputs, split: str, description: str) -> tuple[dict, list[dict]]:
        from balora.generation import generate_greedy

        rows = inputs.tokenized[split]
        prompts = [ids[:length] for ids, length in zip(rows["input_ids"], rows["prompt_length"])]
        with evaluation_autocast(model, inputs.config):
            generated = generate_greedy(model, inputs.tokenizer, prompts, inputs.config.max_new_tokens,
                                        inputs.config.eval_batch_size, model_device(model), description)
        metrics, scored = answer_match_metrics(generated, rows["reference"],
                                               compile_answer_pattern(inputs.config.answer_pattern))
        prompt_texts = inputs.tokenizer.batch_decode(prompts, skip_special_tokens=True)
        return metrics, [{"index": i, "prompt": prompt, **row} for i, (prompt, row) in enumerate(zip(prompt_texts, scored))]

    def kept_validation(self, model, inputs: EvaluationInputs) -> dict:
        """Exact match of the kept model on the validation prompts: what a study selects a learning rate by."""
        metrics, _ = self.scored(model, inputs, "validation", "Generating (validation)")
        inputs.say(f"Validation{self.extra_line(metrics).removeprefix(',')}")
        return metrics

    def untuned_test(self, model, inputs) -> dict:
        """The untuned model's test perplexity and exact match on the same prompts."""
        test = super().untuned_test(model, inputs)["test"]
        return {"test": {**test, **self.scored(model, inputs, "test", "Generating (untuned)")[0]}}

    def extra_line(self, metrics: dict) -> str:
        return (f", exact match {100 * metrics['exact_match']:.2f}% (last number {100 * metrics['exact_match_flexible']:.2f}%, "
                f"an answer in {100 * metrics['answered']:.0f}%)")

    def test(self, trainer, model, inputs: EvaluationInputs) -> TestOutcome:
        outcome = super().test(trainer, model, inputs)
        metrics, rows = self.scored(model, inputs, "test", "Generating")
        outcome.metrics.update(metrics)
        inputs.say("Test" + self.extra_line(metrics).removeprefix(",") + f" on {len(rows)} examples "
                   f"(greedy, at most {inputs.config.max_new_tokens} new tokens)")
        outcome.files["test_generations.jsonl"] = lambda path: write_jsonl(path, rows)
        return outcome
