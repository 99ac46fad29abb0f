"""results_final.json as one typed record: `balora train` writes it, the study runner, `compare`,
the benchmarks and the tests' fake runs read it, so that renaming a field breaks every reader at
once instead of leaving one silently stale.

Each section of the file is a dataclass (balora.record_sections); this module alone turns them
to and from JSON, and the JSON keeps the shape it always had (tests/test_record.py reads a file
written before the sections were typed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balora.errors import UserError
from balora.record_sections import (DataSummary, HarnessScores, MemorySummary, ParameterCounts, ProcessPeak, RuntimeSummary,
                                    SplitSizes, Timing, section_from_dict)

__all__ = ["DataSummary", "HarnessScores", "MemorySummary", "ParameterCounts", "ProcessPeak", "ResultsRecord", "RuntimeSummary",
           "SplitSizes", "Timing", "read_harness_scores", "read_results_record"]

# The typed sections, by field name: how each is read from the file.
_SECTIONS = {"parameters": ParameterCounts, "data": DataSummary, "timing": Timing, "peak_memory": ProcessPeak,
             "runtime": RuntimeSummary, "memory": MemorySummary}


@dataclass
class ResultsRecord:
    experiment_name: str
    method: str
    dataset: str
    seed: int
    headline_metric: str  # the dataset's metric (accuracy, f1_macro, matthews_correlation, perplexity) or the task's (exact_match)
    metrics: dict[str, dict[str, Any]]  # "validation" (the kept checkpoint's evaluation), "test"
    parameters: ParameterCounts
    config: dict[str, Any]  # every setting the run was made with
    status: str = "completed"  # the only status a results file is written with; status.json has the others
    task: str = "classification"  # balora.tasks: classification, causal_lm or generation
    model_name_or_path: str | None = None
    best_epoch: float | None = None
    best_step: int | None = None
    data: DataSummary | None = None  # None: a file written without it
    timing: Timing | None = None
    peak_memory: ProcessPeak | None = None
    runtime: RuntimeSummary | None = None
    method_summary: dict[str, Any] = field(default_factory=dict)  # what the method records of itself
    versions: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    memory: MemorySummary | None = None  # None: the run saved nothing (another process of a torchrun)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of results_final.json, keys in the order they were always written."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _SECTIONS:
                value = value.as_dict() if value is not None else (None if f.name == "memory" else {})
            out[f.name] = value
        return out

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
        typed = {name: section_from_dict(_SECTIONS[name], value, f"{source}: {name}")
                 for name, value in data.items() if name in _SECTIONS}
        return cls(**{**data, **typed})

    def validation(self, metric: str | None = None) -> float:
        """The kept checkpoint's validation score (default: the headline metric)."""
        return self.metrics["validation"][metric or self.headline_metric]

    def test(self, metric: str | None = None):
        return self.metrics["test"][metric or self.headline_metric]

    @property
    def tested(self) -> bool:
        """Whether the test split was scored (a study's search runs skip it: evaluate_test)."""
        return bool(self.metrics.get("test"))


def read_results_record(path: str | Path) -> ResultsRecord:
    """results_final.json of an experiment; unreadable or of another shape is one line naming it."""
    from balora.results import read_results_file

    return ResultsRecord.from_dict(read_results_file(Path(path)), str(path))


def read_harness_scores(folder: str | Path) -> dict[str, HarnessScores]:
    """The experiment's eval_<task>.json files (lm-eval's scores, balora.harness), by task."""
    from balora.results import read_results_file

    found = {}
    for path in sorted(Path(folder).glob("eval_*.json")):
        scores = section_from_dict(HarnessScores, read_results_file(path), str(path))
        if scores is not None:
            found[scores.task] = scores
    return found
