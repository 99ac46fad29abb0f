"""The peak memory of one real training step of a configuration at one batch size.

Each measurement runs in a fresh Python process (``python -m balora.memory.step SPEC``), the
honest way to get a peak: a process that already trained at another batch size keeps allocator
caches, and on a CPU the resident high-water mark belongs to the whole process. The child loads
the model the way `balora train` does (a classifier, or a causal LM for prompt / response data;
quantized if asked), prepares the method (BA-LoRA's ranks at equal importance: the same adapter
size, no gradient pass), and runs two AdamW steps, the first on one sequence (it creates the
optimizer state), the second on the batch of full-length sequences, so the optimizer state
exists during that step's forward and backward passes. It reports the model's tensors plus the
most the steps added: on a GPU the allocator's peak; on a CPU the bytes of the model's
parameters and buffers plus the peak of anonymous resident memory above the loaded process
(loading's own transient copies, the Python interpreter and the libraries' code are not counted).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class StepSpec:
    model_name_or_path: str
    num_labels: int | None  # classes of the task head; None: a causal LM, trained to predict every token
    peft_method: str
    method_settings: dict  # flat method flags, as `balora train` takes them
    batch_size: int
    max_length: int
    seed: int = 42


class MeasurementFailed(Exception):
    """A measurement failed for a reason other than memory; the message is the one-line cause."""


def measure_in_subprocess(spec: StepSpec, timeout_seconds: float = 1800) -> int | None:
    """Peak bytes of the step, or None if the child ran out of memory."""
    done = subprocess.run([sys.executable, "-m", "balora.memory.step", json.dumps(asdict(spec))],
                          capture_output=True, text=True, timeout=timeout_seconds, env=os.environ.copy())
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if "error" in result:
        raise MeasurementFailed(result["error"])
    if done.returncode == 0 and result:
        return result["peak_bytes"] if result["fits"] else None
    if done.returncode in (-9, 137):  # killed by the kernel's out-of-memory killer
        return None
    raise MeasurementFailed(plain_cause((done.stderr.strip().splitlines() or ["no output"])[-1]))


def plain_cause(line: str) -> str:
    """A traceback's last line without the module path of its exception class
    (``balora.errors.ConfigError: --lora_r: ...`` -> ``--lora_r: ...``)."""
    return re.sub(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: ", "", line)


def error_line(err: Exception) -> str:
    """What the parent reports of a failed step: a user error's own line; otherwise the exception's
    short type and message (never an internal module path)."""
    from balora.errors import UserError

    if isinstance(err, UserError):
        return str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _synthetic_batch(vocab_size: int, spec: StepSpec, device):
    """Full-length sequences: the most memory a batch of this size can take at --max_length."""
    import torch

    generator = torch.Generator().manual_seed(spec.seed)
    shape = (spec.batch_size, spec.max_length)
    input_ids = torch.randint(1000 if vocab_size > 2000 else 0, vocab_size, shape, generator=generator)
    labels = (input_ids.clone() if spec.num_labels is None  # a decoder's loss is on every token
              else torch.randint(0, spec.num_labels, (spec.batch_size,), generator=generator))
    return {"input_ids": input_ids.to(device), "attention_mask": torch.ones(shape, dtype=torch.long, device=device),
            "labels": labels.to(device)}


def run_step(spec: StepSpec) -> dict:
    import torch

    from balora.config import TrainConfig
    from balora.memory.accounting import PeakMemory, model_bytes
    from balora.methods import build_options
    from balora.modeling import training_device
    from balora.preparation import prepare_method, quantization_of
    from balora.training.precision import bound_kernel_caches

    bound_kernel_caches()  # as balora train does: the step's peak is training's
    device = training_device()
    config = TrainConfig(experiment_name="memory", peft_method=spec.peft_method,
                         model_name_or_path=spec.model_name_or_path, batch_size=spec.batch_size,
                         max_length=spec.max_length, seed=spec.seed)
    made = prepare_method(config, build_options(**spec.method_settings), spec.num_labels)
    model = made.prepared.model
    quantization = quantization_of(made.options)
    if not (quantization and quantization.quantized):  # a quantized base was loaded onto its device
        model.to(device)
    batch = _synthetic_batch(model.config.vocab_size, spec, device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    step = PeakMemory.start(device)  # from here: loading's transient copies are not training
    try:
        # a first step on one sequence creates the optimizer state cheaply; the second, on the full
        # batch, is the one a training step at this batch size looks like from then on
        for inputs in ({name: value[:1] for name, value in batch.items()}, batch):
            model(**inputs).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    except torch.OutOfMemoryError:
        return {"fits": False, "peak_bytes": None}
    report = step.report()
    # the GPU allocator's peak holds the model; on a CPU the weights may stay file-backed (mmapped), so
    # their bytes are added to what the steps allocated above the loaded process
    peak = report["peak_bytes"] + (model_bytes(model) if device.type == "cpu" else 0)
    return {"fits": True, "peak_bytes": peak, "measure": report["measure"]}


if __name__ == "__main__":
    import logging
    import warnings

    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        outcome = run_step(StepSpec(**json.loads(sys.argv[1])))
    except Exception as err:  # reported to the parent as one line, the others' measurements go on
        import torch

        if isinstance(err, torch.OutOfMemoryError):  # not even the model fits (while loading)
            print(json.dumps({"fits": False, "peak_bytes": None}))
            raise SystemExit(0) from None
        outcome = {"error": error_line(err)}
    print(json.dumps(outcome))
