"""`balora study`: a study file -> checked plan -> experiments scheduled and placed by an executor."""

from __future__ import annotations

import sys

from balora.errors import TrainingFailure
from balora.study.evaluation import check_eval_tasks
from balora.study.plan import StudyOptions, StudyPlan, check_trainable_cap, plan_study
from balora.study.studyfile import parse_study


def plan_from_file(path: str, options: StudyOptions, count: bool = True) -> StudyPlan:
    return plan_study(parse_study(path), options, count=count)


def print_plan(path: str, options: StudyOptions) -> None:
    plan = plan_from_file(path, options)
    print(f"Study {plan.study.name} ({path}): {len(plan.groups)} configurations, {plan.experiment_count} "
          f"experiments, results in {plan.results_dir}")
    for line in plan.data_lines:  # each dataset of one's own, as read with the settings that reach it
        print(f"Data {line}")
    for line in search_lines(plan):
        print(line)
    from balora.study.names import grid_warnings

    for warning in grid_warnings(plan.groups):
        print(f"warning: {warning}", file=sys.stderr)
    from balora.counting import ParameterCounts, capped_count

    capped = any(g.settings.get("max_trainable_parameters") for g in plan.groups)
    width = max(26, *(len(g.label) for g in plan.groups))
    phase_width = max(12, *(len(g.phase) for g in plan.groups))
    header = (f"{'phase':{phase_width}s} {'dataset':10s} {'method':{width}s} {'k-shot':>6s} {'budget':>9s} {'adapter':>11s} "
              f"{'peak':>11s}" + (f" {'trainable':>11s} {'cap':>11s}" if capped else ""))
    print(header)
    for group in plan.groups:
        counts = group.counts
        budget = f"{group.budget:,}" if group.budget else "-"
        cap = group.settings.get("max_trainable_parameters")
        against = ""
        if capped:  # trainable = peak adapter + head, what the cap limits
            held = capped_count(ParameterCounts(**counts))
            verdict = "-" if cap is None else f"{cap:,}" + (" OVER" if held > cap else " ok")
            against = f" {held:>11,} {verdict:>11s}"
        print(f"{group.phase:{phase_width}s} {group.dataset:10s} {group.label:{width}s} {group.train_samples or 'full':>6} "
              f"{budget:>9} {counts['adapter']:>11,} {counts['peak_adapter']:>11,}{against}")
        for lr, seed in group.first_runs():
            print(f"    {group.experiment_name(lr, seed)}")
        if group.remaining_seeds:
            print(f"    {group.key}-lr<selected>-s{{{','.join(str(s) for s in group.remaining_seeds)}}}"
                  f"  (after the learning rate is selected on validation)")
    check_trainable_cap(plan)
    check_eval_tasks(plan)
    evaluated = sorted({task for group in plan.groups for task in group.eval_tasks})
    if evaluated:
        print(f"Each finished experiment is evaluated by lm-eval on {', '.join(evaluated)}")


def search_lines(plan: StudyPlan) -> list[str]:
    """What the dry run says of the learning-rate searches: grids that may grow, and which runs
    score the test split."""
    searching = [g for g in plan.groups if g.selects_learning_rate]
    growing = [g for g in searching if g.max_grid_extensions]
    lines = []
    if growing:
        cap = max(g.max_grid_extensions for g in growing)
        lines.append(f"Learning-rate grids may grow: a search whose best validation score is at an edge of its grid "
                     f"runs the next rate beyond it (the grid's spacing), up to {cap} more per grid "
                     f"(max_grid_extensions; grow_grids: false keeps them as written), so up to "
                     f"{sum(g.max_grid_extensions for g in growing)} more experiments than counted here")
    if any(g.evaluate_test == "selected" for g in searching):
        lines.append("Test split: search runs skip it; the chosen rate's run is tested from its saved model once "
                     "selected (evaluate_test: selected; all tests every run)")
    return lines


def run_study_command(path: str, flags) -> None:
    """``flags``: balora.study.flags.StudyFlags."""
    from balora.study.executors import make_executor
    from balora.study.runner import run_study
    from balora.study.tracking import require_trackers, study_tracker
    from balora.training.trackers import require_tracker

    if flags.report_to:  # before the plan loads models to count their parameters
        require_tracker(flags.report_to)
    plan = plan_from_file(path, flags.plan_options())
    require_trackers(plan)  # a tracker the study file names
    check_trainable_cap(plan)
    check_eval_tasks(plan)
    executor = make_executor(flags.executor, plan.results_dir, flags.workers, flags.gpus_per_experiment,
                             flags.ray_address, flags.slurm())
    print(f"Study {plan.study.name}: {len(plan.groups)} configurations, up to {plan.experiment_count} experiments, "
          f"results in {plan.results_dir}" + ("" if flags.executor == "serial" else f", executor {flags.executor}"),
          flush=True)
    try:
        with study_tracker(plan):
            outcomes = run_study(plan, flags.retry_failed, print_line=lambda line: print(line, flush=True),
                                 executor=executor, max_retries=flags.max_retries)
    except KeyboardInterrupt:
        print("interrupted: finished experiments are kept; run the same command again to resume", file=sys.stderr)
        raise SystemExit(130) from None
    failed = [o for o in outcomes if o.status in ("failed", "skipped")]
    busy = sum(o.status == "busy" for o in outcomes)
    ran = sum(o.ran_now and o.status == "completed" for o in outcomes)
    print(f"Study {plan.study.name}: {ran} run now, {sum(not o.ran_now and o.status == 'completed' for o in outcomes)} "
          f"already finished, {len(failed)} failed or skipped"
          + (f", {busy} left to another process running this study" if busy else "")
          + f"; status in {plan.results_dir}/study.json")
    if failed:
        raise TrainingFailure(f"{len(failed)} experiment(s) did not finish: "
                              + "; ".join(f"{o.name}: {o.error}" for o in failed[:3]))
