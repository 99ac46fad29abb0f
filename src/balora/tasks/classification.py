"""Sequence classification (encoders, and decoders through AutoModelForSequenceClassification)."""

from __future__ import annotations

from pathlib import Path

from balora.tasks.base import EvaluationInputs, TestOutcome, TrainerEvaluation


def save_predictions(path: Path, labels, logits, label_names=(), rows=None) -> None:
    """One line per test example, in the data's order: its index in the test split, its text (and
    text pair), the true and predicted class by number and by name, and the logits."""
    import pandas as pd

    from balora.results import atomic_write_text

    predictions = logits.argmax(-1)
    frame = pd.DataFrame({"label": labels, "prediction": predictions})
    if rows is not None and len(rows) == len(frame):
        texts = [c for c in ("text", "text_pair") if c in rows.columns]
        frame = pd.concat([rows[texts].reset_index(drop=True), frame], axis=1)
    if len(label_names):
        names = list(label_names)
        frame.insert(frame.columns.get_loc("label") + 1, "label_name", [names[int(k)] for k in labels])
        frame["prediction_name"] = [names[int(k)] for k in predictions]
    for k in range(logits.shape[1]):
        frame[f"logit_{k}"] = logits[:, k]
    atomic_write_text(path, frame.to_csv(index_label="index"))


class ClassificationTask:
    name = "classification"
    text_to_text = False

    def metric(self, spec) -> str:
        return spec.metric

    def validation_metrics(self, spec) -> tuple[str, ...]:
        from balora.metrics import SCALAR_METRICS

        return ("loss", *SCALAR_METRICS)

    def num_labels(self, spec) -> int | None:
        return spec.num_labels

    def kept_validation(self, model, inputs: EvaluationInputs) -> dict:
        return {}  # the Trainer's evaluation has every validation metric

    def load_data(self, spec, config):
        from balora.data import load_task_data

        return load_task_data(spec, config.data_dir, (config.train_file, config.validation_file, config.test_file),
                              config.train_samples, config.seed, config.max_test_samples,
                              config.allow_missing_classes, config.max_validation_samples)

    def describe(self, spec) -> str:
        return f"{spec.num_labels} classes"

    def encode(self, data, tokenizer, config, say) -> dict:
        from balora.data.tokenize import tokenize_splits

        return tokenize_splits(data.splits, tokenizer, config.max_length)

    def collator(self, tokenizer):
        from balora.data.tokenize import padding_collator

        return padding_collator(tokenizer)

    def trainer_evaluation(self, spec) -> TrainerEvaluation:
        from balora.metric_registry import metric
        from balora.metrics import trainer_metrics

        return TrainerEvaluation(spec.metric, metric(spec.metric).higher_is_better, trainer_metrics(spec.label_names))

    def untuned(self, model, inputs: EvaluationInputs) -> dict | None:
        return None  # a freshly initialised head scores chance; nothing worth a pass over the data

    def test(self, trainer, model, inputs: EvaluationInputs) -> TestOutcome:
        from balora.metrics import classification_metrics
        from balora.training.batching import by_length, in_original_order

        spec = inputs.spec
        test_sorted, order = by_length(inputs.tokenized["test"])
        test = trainer.predict(test_sorted)
        labels, logits = in_original_order(order, test.label_ids), in_original_order(order, test.predictions)
        metrics = classification_metrics(labels, logits.argmax(-1), spec.label_names, detailed=True)
        inputs.say(f"Test accuracy: {100 * metrics['accuracy']:.2f}%"
                   + (f", test {spec.metric}: {metrics[spec.metric]:.4f}" if spec.metric != "accuracy" else ""))
        return TestOutcome(metrics, {"test_predictions.csv": lambda path: save_predictions(
            path, labels, logits, spec.label_names, inputs.test_rows)})
