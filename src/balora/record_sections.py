"""The typed sections of results_final.json (balora.record.ResultsRecord): parameter counts, data,
timing, memory, runtime. Pure data, no torch, so that reading results (`balora compare`) loads
no deep-learning stack.

Each section writes the JSON object it always wrote, keys in the same order; a field marked
``OMIT_IF_NONE`` is left out of the file when it is None, as it always was (e.g. the 4-bit
settings of a base that is not quantized).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from balora.errors import UserError

OMIT_IF_NONE = {"omit_if_none": True}


def section_as_dict(section) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if value is None and f.metadata.get("omit_if_none"):
            continue
        out[f.name] = section_as_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def check_keys(cls, data: dict, source: str, extra_allowed=lambda key: False) -> None:
    """One line naming the section and the keys it lacks or does not know."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: not a JSON object")
    fields = dataclasses.fields(cls)
    required = {f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(data))
    unknown = sorted(k for k in set(data) - {f.name for f in fields} if not extra_allowed(k))
    if missing or unknown:
        raise UserError(f"{source}: not a section of this balora's results"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""))


def section_from_dict(cls, data: dict | None, source: str):
    """The section read from its JSON object; None or an empty object (a file written without the
    section) is None."""
    if not data:
        return None
    if hasattr(cls, "from_dict"):
        return cls.from_dict(data, source)
    check_keys(cls, data, source)
    return cls(**data)


@dataclass(frozen=True)
class ParameterCounts:
    """balora.counting's accounting: adapter (what a budget counts), head, trainable = adapter +
    head, total, and peak_adapter (the most adapter parameters held during training)."""

    adapter: int
    head: int
    trainable: int
    total: int
    peak_adapter: int

    def as_dict(self) -> dict[str, int]:
        return section_as_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str) -> ParameterCounts:
        # files of the first days (before AdaLoRA and plateau_lora) had no peak: it was the adapter
        if isinstance(data, dict) and "peak_adapter" not in data and "adapter" in data:
            data = {**data, "peak_adapter": data["adapter"]}
        check_keys(cls, data, source)
        return cls(**data)

    def with_adapter(self, adapter: int, peak_adapter: int) -> ParameterCounts:
        """The same model keeping ``adapter`` adapter parameters after holding ``peak_adapter``."""
        change = adapter - self.adapter
        return ParameterCounts(adapter=adapter, head=self.head, trainable=self.trainable + change,
                               total=self.total + change, peak_adapter=peak_adapter)


@dataclass(frozen=True)
class SplitSizes:
    """Examples per split as trained and evaluated (after any sampling)."""

    train: int
    validation: int
    test: int

    def as_dict(self) -> dict[str, int]:
        return section_as_dict(self)


@dataclass(frozen=True)
class DataSummary:
    source: str  # where the data was read: local:<folder>, csv, download
    sizes: SplitSizes
    split_origin: dict[str, str]  # split -> how it was made (carved, drawn, given)
    label_names: list[str]  # empty for language-model tasks

    def as_dict(self) -> dict[str, Any]:
        return section_as_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str) -> DataSummary:
        check_keys(cls, data, source)
        return cls(**{**data, "sizes": section_from_dict(SplitSizes, data["sizes"], f"{source}.sizes")})


@dataclass(frozen=True)
class Timing:
    """Seconds of each part of the run. A method's own phases (BA-LoRA's importance_seconds,
    LoRA-GA's gradient_seconds...) sit in the file between setup and training, as flat keys."""

    setup_seconds: float
    train_seconds: float
    eval_seconds: float
    total_seconds: float
    optimizer_steps: int | None = None
    phases: dict[str, float] = field(default_factory=dict)  # <phase>_seconds -> seconds

    def as_dict(self) -> dict[str, Any]:
        return {"setup_seconds": self.setup_seconds, **self.phases, "train_seconds": self.train_seconds,
                "eval_seconds": self.eval_seconds, "total_seconds": self.total_seconds,
                **({} if self.optimizer_steps is None else {"optimizer_steps": self.optimizer_steps})}

    @classmethod
    def from_dict(cls, data: dict, source: str) -> Timing:
        named = {f.name for f in dataclasses.fields(cls)} - {"phases"}
        is_phase = lambda key: key not in named and key.endswith("_seconds")  # noqa: E731
        check_keys(cls, {k: v for k, v in data.items() if k != "phases"}, source, is_phase)
        return cls(**{k: v for k, v in data.items() if k in named},
                   phases={k: v for k, v in data.items() if is_phase(k)})

    def phase(self, name: str) -> float:
        """A method phase's seconds, e.g. ``phase("importance_seconds")``."""
        return self.phases[name]


@dataclass(frozen=True)
class ProcessPeak:
    """The training process's high-water marks, whole process (model, data, Python) in MB: what
    a machine must hold to run it. ``MemorySummary.peak_training_bytes`` is training's own share."""

    cpu_max_rss_mb: float
    cuda_max_allocated_mb: float | None = field(default=None, metadata=OMIT_IF_NONE)

    def as_dict(self) -> dict[str, float]:
        return section_as_dict(self)

    @property
    def peak_mb(self) -> float:
        """The peak of the device that trained: CUDA's allocator where there was one, else RSS."""
        return self.cuda_max_allocated_mb if self.cuda_max_allocated_mb is not None else self.cpu_max_rss_mb


@dataclass(frozen=True)
class RuntimeSummary:
    precision: str  # fp32, bf16 or fp16, as resolved from --precision
    torch_threads: int
    attention: str | None  # the model's attention implementation (sdpa, eager...)

    def as_dict(self) -> dict[str, Any]:
        return section_as_dict(self)


@dataclass(frozen=True)
class MemorySummary:
    """balora.memory.accounting's block: the base as loaded, the adapter as saved, training's peak."""

    quantization: str  # none, nf4, fp4 or int8
    base_model_bytes: int
    adapter_file: str | None  # None: nothing saved
    adapter_bytes: int | None
    trainable_parameters: int
    peak_training_bytes: int
    peak_measure: str  # cuda_max_memory_allocated, or a CPU measure (see PeakMemory)
    process_bytes_at_training_start: int
    # a quantized base's settings (balora.quantization.quantization_summary)
    prepare_kbit_training: bool | None = field(default=None, metadata=OMIT_IF_NONE)
    compute_dtype: str | None = field(default=None, metadata=OMIT_IF_NONE)
    double_quant: bool | None = field(default=None, metadata=OMIT_IF_NONE)

    _QUANTIZATION = ("quantization", "prepare_kbit_training", "compute_dtype", "double_quant")

    def as_dict(self) -> dict[str, Any]:
        # the file has always led with the quantization's keys
        out = section_as_dict(self)
        return {**{k: out[k] for k in self._QUANTIZATION if k in out},
                **{k: v for k, v in out.items() if k not in self._QUANTIZATION}}

    @property
    def peak_on_cuda(self) -> bool:
        return self.peak_measure.startswith("cuda")


@dataclass(frozen=True)
class HarnessScores:
    """eval_<task>.json, what `balora eval` (or a study's eval_tasks) wrote for one lm-eval task: its
    scores with the adapter applied (tuned) and without (untuned), metric -> value, stderr as
    <metric>_stderr, and how they were made."""

    task: str
    experiment: str
    base_model: str | None
    method: str
    tuned: dict[str, float]
    untuned: dict[str, float]
    examples: dict[str, Any] | None  # lm-eval's n-samples: original, effective
    limit: int | None
    num_fewshot: int | None
    batch_size: int
    include_path: str | None
    adapter_check: dict[str, Any]  # inputs compared, max_loglikelihood_difference
    higher_is_better: dict[str, bool] | None
    lm_eval_version: str
    task_config: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return section_as_dict(self)

    def metrics(self) -> list[str]:
        """The task's metrics (their stderr left out), in lm-eval's order."""
        return [name for name in self.tuned if not name.endswith("_stderr") and "_stderr," not in name]
