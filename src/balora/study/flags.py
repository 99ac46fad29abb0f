"""`balora study`'s flags as one options object: what the study narrows or overrides, and where
its experiments run. One flag per field (the field's help is the flag's help)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from balora.config import setting
from balora.errors import ConfigError, UserError

EXECUTORS = ("serial", "local", "ray", "slurm")

# Settings a study passes on to every experiment, in place of its file's.
OVERRIDES = ("data_dir", "model_name_or_path", "train_samples", "epochs", "max_test_samples", "report_to",
             "eval_steps", "max_trainable_parameters")


@dataclass
class StudyFlags:
    """Study options"""

    dry_run: bool = setting(False, "List the experiments and their parameter counts; train nothing.")
    retry_failed: bool = setting(False, "Run experiments that failed earlier again (by default they are skipped).")
    phases: list[str] | None = setting(None, "Run only these phases.")
    methods: list[str] | None = setting(None, "Run only these method labels.")
    datasets: list[str] | None = setting(None, "Run these datasets instead of the file's (also ones it does not "
                                               "name); a phase that names its own datasets runs only those of "
                                               "them that are chosen.")
    seeds: list[int] | None = setting(None, "Use these seeds (instead of the file's).")
    results_dir: str | None = setting(None, "Folder of the study's experiments (default: the file's, else "
                                            "results/<name>).")
    data_dir: str | None = setting(None, "Data folder for every experiment (as --data_dir of `balora train`).")
    model_name_or_path: str | None = setting(None, "Model for every experiment (e.g. roberta-base at the original "
                                                   "scale).")
    train_samples: int | None = setting(None, "Examples per class for every experiment (a smaller study; k-shot "
                                              "phases included).")
    epochs: int | None = setting(None, "Epochs for every experiment.")
    max_test_samples: int | None = setting(None, "Test examples per experiment at most.")
    report_to: str | None = setting(None, "Tracker every experiment logs to: none, tensorboard, mlflow or wandb "
                                          "(mlflow: the study is a parent run, each experiment a child run; wandb: "
                                          "the study is a group, each experiment a run of job type search or seed).")
    eval_steps: int | None = setting(None, "Evaluate every N optimizer steps in every experiment (instead of "
                                           "the file's).")
    max_trainable_parameters: int | None = setting(None, "Cap on every configuration's trainable parameters "
                                                         "(instead of the file's).")
    executor: str = setting("serial", "Where the experiments run: serial (one after another in this process), "
                                      "local (--workers processes on this machine), ray (a Ray cluster; pip "
                                      "install 'balora[ray]') or slurm (SLURM jobs through submitit; pip install "
                                      "'balora[slurm]').")
    workers: int | None = setting(None, "Experiments at a time (local: default one per GPU share, else 1; ray: "
                                        "default as many as the cluster holds; slurm: the job array's "
                                        "parallelism, default 8).")
    gpus_per_experiment: float | None = setting(None, "GPUs per experiment (local, ray, slurm; default 1 where "
                                                      "there are GPUs, else 0): a fraction such as 0.25 packs 4 "
                                                      "small experiments on one GPU; above 1, a whole number, "
                                                      "runs each under torchrun.")
    max_retries: int = setting(1, "Times an experiment whose worker died is started again (it resumes from its "
                                  "last checkpoint).")
    ray_address: str | None = setting(None, "Ray cluster to use (default: start a local one; auto: the cluster "
                                            "this job runs in).")
    slurm_partition: str | None = setting(None, "SLURM partition of the jobs.")
    slurm_time: int = setting(60, "SLURM time limit per experiment, in minutes.")
    slurm_gpus_per_task: int | None = setting(None, "GPUs per SLURM job (default: --gpus_per_experiment "
                                                    "rounded up).")

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ConfigError("executor", f"must be one of {', '.join(EXECUTORS)} (got {self.executor!r})")
        if self.workers is not None and self.workers < 1:
            raise ConfigError("workers", f"must be at least 1 (got {self.workers})")
        if self.max_retries < 0:
            raise ConfigError("max_retries", f"must be 0 or more (got {self.max_retries})")
        if self.gpus_per_experiment is not None and (not math.isfinite(self.gpus_per_experiment)
                                                     or self.gpus_per_experiment < 0):
            raise ConfigError("gpus_per_experiment", f"must be 0 or more (got {self.gpus_per_experiment:g})")
        if self.slurm_time < 1:
            raise ConfigError("slurm_time", f"must be at least 1 minute (got {self.slurm_time})")
        if self.executor in ("serial",) and (self.workers or self.gpus_per_experiment):
            raise UserError("--workers and --gpus_per_experiment place experiments on workers: use them with "
                            "--executor local, ray or slurm")

    def overrides(self) -> dict:
        return {name: getattr(self, name) for name in OVERRIDES if getattr(self, name) is not None}

    def plan_options(self):
        from balora.study.plan import StudyOptions

        return StudyOptions(phases=self.phases, methods=self.methods, datasets=self.datasets, seeds=self.seeds,
                            overrides=self.overrides(), results_dir=self.results_dir)

    def slurm(self) -> dict:
        return {"partition": self.slurm_partition, "time_minutes": self.slurm_time,
                "gpus_per_task": self.slurm_gpus_per_task}
