"""`balora study`: a study file -> checked plan -> experiments run one after another."""

from __future__ import annotations

import sys

from balora.errors import TrainingFailure
from balora.study.plan import StudyOptions, StudyPlan, plan_study
from balora.study.studyfile import parse_study


def plan_from_file(path: str, options: StudyOptions, count: bool = True) -> StudyPlan:
    return plan_study(parse_study(path), options, count=count)


def print_plan(path: str, options: StudyOptions) -> None:
    plan = plan_from_file(path, options)
    print(f"Study {plan.study.name} ({path}): {len(plan.groups)} configurations, {plan.experiment_count} "
          f"experiments, results in {plan.results_dir}")
    header = f"{'phase':12s} {'dataset':10s} {'method':26s} {'k-shot':>6s} {'budget':>9s} {'adapter':>11s} {'peak':>11s}"
    print(header)
    for group in plan.groups:
        counts = group.counts
        budget = f"{group.budget:,}" if group.budget else "-"
        print(f"{group.phase:12s} {group.dataset:10s} {group.label:26s} {group.train_samples or 'full':>6} "
              f"{budget:>9} {counts['adapter']:>11,} {counts['peak_adapter']:>11,}")
        for lr, seed in group.first_runs():
            print(f"    {group.experiment_name(lr, seed)}")
        if group.selects_learning_rate:
            print(f"    {group.key}-lr<selected>-s{{{','.join(str(s) for s in group.seeds[1:])}}}"
                  f"  (after the learning rate is selected on validation)")


def run_study_command(path: str, options: StudyOptions, retry_failed: bool) -> None:
    from balora.study.runner import run_study

    plan = plan_from_file(path, options)
    print(f"Study {plan.study.name}: {len(plan.groups)} configurations, up to {plan.experiment_count} experiments, "
          f"results in {plan.results_dir}", flush=True)
    try:
        outcomes = run_study(plan, retry_failed, print_line=lambda line: print(line, flush=True))
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
