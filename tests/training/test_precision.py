"""--precision: what auto means on this machine, what is refused, and what the run records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from balora.config import TrainConfig
from balora.errors import ConfigError, UserError
from balora.training import precision
from helpers import run_train


def test_auto_is_bf16_only_where_the_hardware_does_bf16(monkeypatch):
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision.torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert precision.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision.resolve_precision("auto") == "fp32"
    assert precision.resolve_precision("bf16") == "bf16"  # asked for explicitly: emulated, but allowed


def test_fp16_without_a_gpu_is_one_clear_error(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="--precision fp16: needs a CUDA GPU"):
        run_train(tmp_path, tiny_data_dir, tiny_model_dir, precision="fp16")
    assert not (tmp_path / "tiny").exists()


def test_unknown_precision_names_the_field():
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(experiment_name="x", precision="int8")


def test_bf16_run_records_the_requested_and_the_resolved_precision(tmp_path, tiny_data_dir, tiny_model_dir,
                                                                   monkeypatch):
    for variable in precision.KERNEL_CACHE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    results = run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, precision="bf16")
    assert results.runtime.precision == "bf16" and results.runtime.torch_threads >= 1
    assert json.loads((tmp_path / "tiny" / "config.json").read_text())["precision"] == "bf16"
    # the run capped the CPU's kernel caches (before its first product, or the cap is not read)
    assert all(os.environ[v] == str(precision.KERNEL_CACHE_ENTRIES) for v in precision.KERNEL_CACHE_VARIABLES)


def test_kernel_cache_caps_keep_what_the_user_set(monkeypatch):
    monkeypatch.delenv("LRU_CACHE_CAPACITY", raising=False)
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "7")
    precision.bound_kernel_caches()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "7"
    assert os.environ["LRU_CACHE_CAPACITY"] == str(precision.KERNEL_CACHE_ENTRIES)


# bf16 products of 6 adapter ranks at 30 batch lengths (180 shapes, as mixed ranks meet them in training);
# prints the bytes malloc holds afterwards beyond before. A fresh process: each cache reads its cap once.
SHAPES_SCRIPT = """
import ctypes, sys
import torch
from balora.training.precision import bound_kernel_caches
if sys.argv[1] == "bounded":
    bound_kernel_caches()
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
def in_use():
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd
torch.manual_seed(0)
adapters = [(torch.randn(r, 256, requires_grad=True), torch.randn(256, r, requires_grad=True)) for r in range(2, 8)]
before = in_use()
for length in range(64, 184, 4):
    x = torch.randn(length, 256)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = sum(((x @ a.T) @ b.T).float().square().mean() for a, b in adapters)
    loss.backward()
print(in_use() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not precision.native_bf16(),
                    reason="reads glibc's mallinfo2; --precision auto trains bf16 only where the CPU computes it")
def test_bf16_products_of_many_shapes_keep_little_memory_once_the_caches_are_capped():
    """The cause of BA-LoRA's training peak on a CPU (1.5x LoRA's at equal size): the kernel caches
    keep memory for every product shape, and mixed ranks make more shapes. Capped, they keep little."""
    env = {k: v for k, v in os.environ.items() if k not in precision.KERNEL_CACHE_VARIABLES}
    kept = {}
    for mode in ("bounded", "default"):
        done = subprocess.run([sys.executable, "-c", SHAPES_SCRIPT, mode], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        kept[mode] = int(done.stdout.split()[-1])
    assert kept["default"] > 100 * 2**20  # what the uncapped caches keep (540 MB on the machine the fix was made on)
    assert kept["bounded"] < kept["default"] / 4, kept


def test_threads_follow_the_cores_given_to_the_process(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    monkeypatch.setattr(precision.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    before = precision.torch.get_num_threads()
    try:
        assert precision.match_threads_to_cores() == 1
    finally:
        precision.torch.set_num_threads(before)


def test_a_bf16_run_saves_an_adapter_that_plain_peft_reproduces_under_bf16_autocast(tmp_path, tiny_data_dir,
                                                                                      tiny_model_dir):
    """bf16 is autocast, so the saved adapter is fp32; reloaded with plain PEFT under the same autocast it gives
    the saved logits up to bf16 rounding (the pipeline's batches are padded differently from one big batch)."""
    import numpy as np
    import pandas as pd
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1, precision="bf16")
    checkpoint = tmp_path / "tiny" / "model_checkpoint"
    model = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir),
                                      checkpoint).eval()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    saved = pd.read_csv(tmp_path / "tiny" / "test_predictions.csv")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    from balora.data import get_dataset_spec, load_task_data

    # the test split is carved from train: rebuild it the way the pipeline did
    texts = load_task_data(get_dataset_spec("sst2"), str(tiny_data_dir)).splits["test"]["text"].tolist()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.float().numpy()
    expected = saved[["logit_0", "logit_1"]].to_numpy()
    np.testing.assert_allclose(logits, expected, atol=3e-2)
    clear = np.abs(expected[:, 0] - expected[:, 1]) > 0.06
    assert (logits.argmax(-1)[clear] == saved["prediction"].to_numpy()[clear]).all()
