"""results_final.json as one typed record: `balora train` writes it, the study runner, `compare`,
the benchmarks and the tests' fake runs read it, so that renaming a field breaks every reader at
once instead of leaving one silently stale."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balora.errors import UserError


@dataclass
class ResultsRecord:
    experiment_name: str
    method: str
    dataset: str
    seed: int
    headline_metric: str  # the dataset's metric (accuracy, f1_macro, matthews_correlation, perplexity) or the task's (exact_match)
    metrics: dict[str, dict[str, Any]]  # "validation" (the kept checkpoint's evaluation), "test"
    parameters: dict[str, int]  # balora.counting.ParameterCounts.as_dict()
    config: dict[str, Any]  # every setting the run was made with
    status: str = "completed"
    task: str = "classification"  # balora.tasks: classification, causal_lm or generation
    model_name_or_path: str | None = None
    best_epoch: float | None = None
    best_step: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # source, sizes, split_origin, label_names
    timing: dict[str, float] = field(default_factory=dict)  # setup, method phases, train, eval, total seconds
    peak_memory: dict[str, float] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)  # precision, torch threads, attention
    method_summary: dict[str, Any] = field(default_factory=dict)  # what the method records of itself
    versions: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    memory: dict[str, Any] | None = None  # balora.memory.accounting.memory_summary

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "results") -> ResultsRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        if not isinstance(data, dict):
            raise UserError(f"{source}: not a results record (a JSON object)")
        missing, unknown = sorted(required - set(data)), sorted(set(data) - names)
        if missing or unknown:
            raise UserError(f"{source}: not a results record of this balora"
                            + (f"; missing {', '.join(missing)}" if missing else "")
                            + (f"; unknown {', '.join(unknown)}" if unknown else ""))
        return cls(**data)

    def validation(self, metric: str | None = None) -> float:
        """The kept checkpoint's validation score (default: the headline metric)."""
        return self.metrics["validation"][metric or self.headline_metric]

    def test(self, metric: str | None = None):
        return self.metrics["test"][metric or self.headline_metric]


def read_results_record(path: str | Path) -> ResultsRecord:
    """results_final.json of an experiment; unreadable or of another shape is one line naming it."""
    from balora.results import read_results_file

    return ResultsRecord.from_dict(read_results_file(Path(path)), str(path))
