"""A study's `eval_tasks`: lm-evaluation-harness run on each experiment once it has finished, by
`balora eval`'s own code (balora.harness), writing eval_<task>.json beside its results.

The dry run checks the tasks before anything trains (lm_eval installed, every task known); each
experiment then runs the tasks whose file is not there yet, so a rerun of the study evaluates
only what is missing. An eval that fails leaves the experiment completed and says why; the next
run of the study tries it again.
"""

from __future__ import annotations

from pathlib import Path

from balora.errors import TrainingFailure, UserError


def eval_file(folder: Path, task: str) -> Path:
    return Path(folder) / f"eval_{task}.json"


def missing_evals(folder: Path, tasks) -> list[str]:
    """The tasks whose eval_<task>.json the experiment does not have yet."""
    return [task for task in tasks if not eval_file(folder, task).exists()]


def check_eval_tasks(plan) -> None:
    """One line, at the study file's eval_tasks, when lm_eval is missing or a task is unknown."""
    from balora.harness import require_lm_eval, task_manager

    study = plan.study
    tasks = sorted({task for group in plan.groups for task in group.eval_tasks})
    if not tasks:
        return
    doc = study.source
    named = [(("eval_tasks",), study.eval_tasks)] + [(("phases", name, "eval_tasks"), phase["eval_tasks"])
                                                    for name, phase in study.phases.items() if phase.get("eval_tasks")]
    try:
        require_lm_eval()
        task_manager(study.eval_include_path, tasks)
    except UserError as err:
        message = str(err).replace("--include_path DIR", "eval_include_path").replace("--tasks: ", "")
        unknown = message.partition("knows no task ")[2].split(";")[0].split(", ")
        where = next((keys for keys, names in named if set(names) & set(unknown)),
                     next((keys for keys, names in named if names), ()))
        raise doc.error(where, message) from None


def run_experiment_evals(folder: Path, tasks, limit: int | None, include_path: str | None, say=print) -> str | None:
    """Evaluate the finished experiment in ``folder`` on the tasks it has no file for; returns what went
    wrong (None: every task is scored)."""
    from balora.harness import run_eval

    missing = missing_evals(folder, tasks)
    if not missing:
        return None
    try:
        run_eval(str(folder), ",".join(missing), limit=limit, include_path=include_path, say=say)
    except (UserError, TrainingFailure) as err:
        return f"eval_tasks: {err}"
    return None
