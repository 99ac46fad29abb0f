#!/usr/bin/env bash
# GPU readiness of balora, on a lent GPU machine: one H100 or H200, no network, Python with torch,
# transformers, peft and accelerate installed, at most 64 MiB of files carried in, ~15 minutes.
#
# 1. Here (a machine with the set-up .venv and ../shared/data):
#        bash scripts/gpu_check.sh prepare
#    writes gpu_bundle/ (ignored by git, ~30 MiB): an fp16 copy of the packaged MiniLM and a
#    4,000-example subset of SST-2.
# 2. On the GPU machine, from the repository root, carrying gpu_bundle:
#        bash scripts/gpu_check.sh run [OUT_FOLDER]
#    checks the packages balora imports, runs the tests marked cuda, then one short study twice:
#    one experiment per GPU at a time (--gpus_per_experiment 1), and four packed on the GPU
#    (--gpus_per_experiment 0.25); prints training examples/s, peak GPU memory and the packing
#    speed-up, and keeps the runs' study.json files in OUT_FOLDER (default $OUT, else gpu_check_out).
#    Put the figures in docs/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=gpu_bundle
py=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ "${1:-}" = prepare ] && py=.venv/bin/python

prepare() {
    rm -rf "$bundle" && mkdir -p "$bundle/data/sst2_dataset"
    $py - "$bundle" <<'PY'
import json
import sys
from pathlib import Path

import pandas as pd
import torch
from transformers import AutoModel, AutoTokenizer

from balora.config import DEFAULT_MODEL
from balora.modeling import resolve_model_path

bundle = Path(sys.argv[1])
source = resolve_model_path(DEFAULT_MODEL)
model = AutoModel.from_pretrained(source, dtype=torch.float16)  # fp16 halves what is carried
model.save_pretrained(bundle / "minilm")
# The weights travel in fp16; the config says fp32, so that they load (dtype "auto") as the
# original does and --precision decides the compute type, as for any other model.
config = json.loads((bundle / "minilm/config.json").read_text())
config.update({key: "float32" for key in ("dtype", "torch_dtype") if key in config} or {"dtype": "float32"})
(bundle / "minilm/config.json").write_text(json.dumps(config, indent=2))
AutoTokenizer.from_pretrained(source).save_pretrained(bundle / "minilm")
data = Path("../shared/data/sst2_dataset")
train = pd.read_csv(data / "sst2_train.csv")
train.groupby("label", group_keys=False).apply(lambda g: g.sample(2000, random_state=0)).to_csv(
    bundle / "data/sst2_dataset/sst2_train.csv", index=False)
pd.read_csv(data / "sst2_validation.csv").to_csv(bundle / "data/sst2_dataset/sst2_validation.csv", index=False)
PY
    du -sh "$bundle"
}

run() {
    out=${1:-${OUT:-gpu_check_out}}
    mkdir -p "$out"
    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
    [ -d "$bundle/minilm" ] || { echo "no $bundle/minilm: run 'bash scripts/gpu_check.sh prepare' first and carry $bundle"; exit 2; }
    $py - <<'PY'
import importlib
missing = [m for m in ("torch", "transformers", "peft", "accelerate", "datasets", "sklearn", "pandas", "yaml", "pytest")
           if importlib.util.find_spec(m) is None]
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs: "
      f"{[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]}")
if missing:
    print(f"missing packages (balora needs them; pip install them first): {', '.join(missing)}")
    raise SystemExit(2)
if not torch.cuda.is_available():
    print("torch sees no GPU"); raise SystemExit(2)
PY
    echo "== tests marked cuda"
    timeout 300 $py -m pytest -q -p no:cacheprovider -m cuda tests 2>&1 | tail -15 || echo "(the cuda tests failed or timed out: see above)"
    cat > "$out/gpu_study.yaml" <<YAML
name: gpu_check
datasets: [sst2]
seeds: [1, 2, 3, 4, 5, 6, 7, 8]
defaults:
  model_name_or_path: $PWD/$bundle/minilm
  data_dir: $PWD/$bundle/data
  epochs: 1
  batch_size: 32
  train_samples: 1000
  max_validation_samples: 500
  max_test_samples: 500
  precision: bf16
phases:
  gpu:
    methods:
      lora: {learning_rates: [2.0e-3]}
YAML
    for share in 1 0.25; do
        echo "== study: 8 experiments, --gpus_per_experiment $share"
        started=$(date +%s.%N)
        timeout 240 $py -m balora study "$out/gpu_study.yaml" --results_dir "$out/study_$share" \
            --executor local --gpus_per_experiment "$share" | tail -4 || echo "(the study failed or timed out)"
        echo "$share $(echo "$(date +%s.%N) - $started" | bc)" >> "$out/wall_seconds.txt"
    done
    $py - "$out" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
walls = dict(line.split() for line in (out / "wall_seconds.txt").read_text().splitlines())
for share, wall in walls.items():
    runs = [json.loads(p.read_text()) for p in (out / f"study_{share}").glob("*/results_final.json")]
    if not runs:
        print(f"--gpus_per_experiment {share}: no finished run"); continue
    epochs = lambda r: r["config"].get("epochs") or 1
    rates = [r["data"]["sizes"]["train"] * epochs(r) / r["timing"]["train_seconds"] for r in runs
             if r["timing"].get("train_seconds")]
    peaks = [r.get("peak_memory", {}).get("cuda_max_allocated_mb", 0) / 1024 for r in runs]  # MB -> GiB
    print(f"--gpus_per_experiment {share}: {len(runs)} runs in {float(wall):.0f} s; per run "
          f"{sum(rates) / max(1, len(rates)):.0f} training examples/s, peak GPU memory {max(peaks):.2f} GiB")
if set(walls) == {"1", "0.25"}:
    print(f"packing speed-up (wall time, 1 per GPU / 4 per GPU): {float(walls['1']) / float(walls['0.25']):.2f}")
PY
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) echo "usage: bash scripts/gpu_check.sh prepare | run [OUT_FOLDER]"; exit 2 ;;
esac
