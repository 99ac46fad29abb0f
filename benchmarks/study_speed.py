"""A study's wall time run serially against the same study on two worker processes.

Run: .venv/bin/python benchmarks/study_speed.py --data_dir ../shared/data [--experiments 8] [--train_samples 16]

One study of --experiments LoRA runs on SST-2 with the packaged MiniLM (one learning rate, one
seed each, so nothing waits for a selection), run twice into fresh folders: `--executor serial`
with 2 torch threads, then `--executor local --workers 2` (each worker pinned to its own core, 1
thread). Prints each wall time and their ratio. Not a timed test: on a machine whose cores other
jobs share, the ratio says more than either time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """\
name: study_speed
datasets: [sst2]
seeds: [{seeds}]
defaults:
  epochs: 1
  batch_size: 16
  train_samples: {train_samples}
  max_validation_samples: 100
  max_test_samples: 100
phases:
  speed:
    methods:
      lora: {{learning_rates: [2.0e-3]}}
"""


def timed_study(path: Path, results: Path, data_dir: str, flags: list[str], threads: int) -> float:
    command = [sys.executable, "-m", "balora", "study", str(path), "--results_dir", str(results),
               "--data_dir", data_dir, *flags]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(flags) or 'serial'} failed:\n{finished.stdout[-2000:]}{finished.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--experiments", type=int, default=8)
    parser.add_argument("--train_samples", type=int, default=16, help="examples per class")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study_speed.yaml"
        path.write_text(STUDY.format(seeds=", ".join(str(s) for s in range(1, args.experiments + 1)),
                                     train_samples=args.train_samples))
        serial = timed_study(path, Path(folder) / "serial", args.data_dir, [], threads=2)
        print(f"serial, 2 threads:            {serial:7.1f} s for {args.experiments} experiments", flush=True)
        local = timed_study(path, Path(folder) / "local", args.data_dir,
                            ["--executor", "local", "--workers", "2"], threads=1)
        print(f"local, 2 workers x 1 thread:  {local:7.1f} s")
        print(f"wall-time ratio serial / local: {serial / local:.2f}")


if __name__ == "__main__":
    main()
