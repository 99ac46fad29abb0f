"""Tasks by name: classification, causal_lm (instruction tuning), generation (summarisation), answer_match
(exact match of generated final answers)."""

from __future__ import annotations

from balora.errors import UserError
from balora.tasks.answer_match import AnswerMatchTask
from balora.tasks.classification import ClassificationTask
from balora.tasks.language import CausalLMTask, GenerationTask

TASKS = {task.name: task for task in (ClassificationTask(), CausalLMTask(), GenerationTask(), AnswerMatchTask())}


def task_for(spec, requested: str | None = None):
    """The dataset's own task, or ``requested`` (--task) where the data allows it: prompt / response
    data trains as causal_lm or generation, labelled data only as classification."""
    name = requested or spec.task
    if name not in TASKS:
        raise UserError(f"unknown --task {name!r}; valid tasks: {', '.join(TASKS)}")
    task = TASKS[name]
    if task.text_to_text != spec.is_text_to_text:
        kind = "prompt / response" if spec.is_text_to_text else "labelled (classification)"
        raise UserError(f"--task {name} does not fit --dataset {spec.name}, which holds {kind} data")
    return task


__all__ = ["TASKS", "task_for"]
