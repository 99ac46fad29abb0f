"""Executors on the tiny model: worker processes on this machine (the same experiments as a
serial run, each trained once; a killed worker retried and resumed; a killed driver harmless),
and the one-line refusals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from balora.cli import main
from balora.results import read_json
from balora.study import plan_from_file
from balora.study.executors.local import LocalExecutor
from balora.study.plan import StudyOptions
from balora.study.runner import run_study

STUDY = """\
    name: tiny_workers
    seeds: [1, 2]
    grow_grids: {grow}
    defaults: {{model_name_or_path: {model}, data_dir: {data}, epochs: {epochs}, batch_size: 8, precision: fp32}}
    phases:
      p:
        methods:
          lora: {{lora_r: 2, learning_rates: [5.0e-3, 2.0e-2]}}
"""


def write_study(tmp_path, model, data, epochs=1, grow=True) -> Path:
    """``grow``: the two-rate grid grows (its best is at an edge), as a study's does by default."""
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(STUDY).format(model=model, data=data, epochs=epochs,
                                                  grow="true" if grow else "false"))
    return path


def trained_once(folder: Path) -> bool:
    """One run's records: training steps only go forward (a second run from scratch starts over)."""
    steps = [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["type"] == "train"]
    return bool(steps) and steps == sorted(steps)


def study_command(path: Path, results: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "balora", "study", str(path), "--results_dir", str(results), *flags]


def test_local_workers_run_the_serial_study_each_experiment_once(tmp_path, tiny_model_dir, tiny_data_dir):
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir)
    serial = run_study(plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / "serial"))),
                       print_line=lambda line: None)
    plan = plan_from_file(str(path), StudyOptions(results_dir=str(tmp_path / "local")))
    lines = []
    local = run_study(plan, print_line=lines.append, executor=LocalExecutor(plan.results_dir, 2, None))
    assert sorted(o.name for o in local) == sorted(o.name for o in serial)
    assert all(o.status == "completed" and o.ran_now for o in local)
    state = read_json(tmp_path / "local" / "study.json")
    assert (state["groups"]["sst2-p-lora"]["selected_learning_rate"]
            == read_json(tmp_path / "serial" / "study.json")["groups"]["sst2-p-lora"]["selected_learning_rate"])
    for name, entry in state["experiments"].items():
        assert trained_once(tmp_path / "local" / name)
        assert entry["threads"] >= 1 and entry["host"] and entry["seconds"] > 0 and entry["tries"] == 1
    assert any("running: " in line and " on worker " in line for line in lines)  # where, while it runs
    total = len(state["experiments"])
    assert any(f"[{total}/{total} done, 0 failed, 0 running] elapsed" in line for line in lines)
    # A two-rate grid's best is at an edge: the grid grew while the workers ran, and the chosen
    # rate's search run was tested on a worker from its saved model, as the serial run did.
    search = state["groups"]["sst2-p-lora"]
    assert search["grown"] and len(search["grid"]) == total - 1 == 2 + len(search["grown"])
    assert search["grid"] == read_json(tmp_path / "serial" / "study.json")["groups"]["sst2-p-lora"]["grid"]
    chosen = f"sst2-p-lora-lr{search['selected_learning_rate']:g}-s1"
    assert any(line.startswith(f"    {chosen}: testing the chosen rate's run") and " on worker " in line
               for line in lines)
    for seed in (1, 2):
        assert read_json(tmp_path / "local" / f"sst2-p-lora-lr{search['selected_learning_rate']:g}-s{seed}"
                         / "results_final.json")["metrics"]["test"]
    # Run again, every experiment finished: each is read back by the driver, none costs a worker
    # process (a fresh interpreter importing torch per experiment made this take minutes), and
    # study.json keeps where and how long each one ran.
    started = []

    class Watched(LocalExecutor):
        def submit(self, job, try_number):
            started.append(job.name)
            return super().submit(job, try_number)

    again = run_study(plan, print_line=lambda line: None, executor=Watched(plan.results_dir, 2, None))
    assert started == [] and sorted(o.name for o in again) == sorted(o.name for o in local)
    assert all(o.status == "completed" and not o.ran_now for o in again)
    assert read_json(tmp_path / "local" / "study.json")["experiments"] == {
        name: {**entry, "tries": 1} for name, entry in state["experiments"].items()}


def wait_for(condition, timeout: float = 900.0, every: float = 0.05, process: subprocess.Popen | None = None):
    """Poll until `condition` holds; fail at once if `process` (the study driver) ends first, since then it
    never will. The timeout is generous because CI cores may be shared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the driver ended (exit {process.returncode}) before the awaited moment")
        time.sleep(every)
    raise AssertionError("timed out waiting")


def holder_pid(results: Path, name: str) -> int | None:
    try:
        return json.loads((results / f".{name}.lock").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def checkpointed(folder: Path) -> bool:
    return any((c / "balora_checkpoint_complete").exists() for c in (folder / "checkpoints").glob("checkpoint-*"))


def test_a_killed_worker_is_retried_and_resumes_from_its_checkpoint(tmp_path, tiny_model_dir, tiny_data_dir):
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, epochs=3)
    results = tmp_path / "results"
    first = "sst2-p-lora-lr0.005-s1"
    driver = subprocess.Popen(study_command(path, results, "--executor", "local", "--workers", "1", "--seeds", "1"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: checkpointed(results / first), process=driver)
        os.kill(holder_pid(results, first), signal.SIGKILL)
        out, _ = driver.communicate(timeout=1200)
    finally:
        driver.kill()
    assert driver.returncode == 0, out
    assert "the worker process died (killed by signal 9); retried, resuming from its checkpoint" in out
    entry = read_json(results / "study.json")["experiments"][first]
    assert entry["status"] == "completed" and entry["tries"] == 2
    assert "--- resuming" in (results / first / "training_log.txt").read_text()


def test_a_killed_driver_is_harmless_the_rerun_trains_what_remains_once(tmp_path, tiny_model_dir, tiny_data_dir):
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir, epochs=2)
    results = tmp_path / "results"
    command = study_command(path, results, "--executor", "local", "--workers", "2")
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Killed at the first completion: the seed-2 run cannot have started (it waits for both rates at
        # seed 1), so the rerun has work left whatever the timing. (Waiting for "one done, one checkpointed"
        # raced: on a slow machine the checkpoint window of a tiny run falls between two polls.)
        def some_done():
            state = read_json(results / "study.json") if (results / "study.json").exists() else {}
            return [n for n, e in state.get("experiments", {}).items() if e["status"] == "completed"]
        done_before = wait_for(some_done, process=driver)
        driver.kill()  # kill -9: its workers die with it
        driver.wait()
        workers = [holder_pid(results, lock.name[1:-len(".lock")]) for lock in results.glob(".sst2-*.lock")]
        wait_for(lambda: not any(alive(pid) for pid in workers if pid), timeout=30)  # they died with the driver
    finally:
        driver.kill()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    state = read_json(results / "study.json")
    total = len(state["groups"]["sst2-p-lora"]["grid"]) + 1  # the grid as grown, then seed 2
    assert len(state["experiments"]) == total and all(e["status"] == "completed" for e in state["experiments"].values())
    for name in state["experiments"]:
        assert trained_once(results / name)
    ran, kept = map(int, re.search(r"(\d+) run now, (\d+) already finished", rerun.stdout).groups())
    assert ran >= 1 and kept >= len(done_before) and ran + kept == total  # the rerun trained what remained, only that
    for name in done_before:  # read back, not trained again
        assert "--- resuming" not in (results / name / "training_log.txt").read_text()
        assert f"{name}: already finished" in rerun.stdout or f"{name} ... " not in rerun.stdout


def test_ray_and_slurm_without_their_package_are_one_line(tmp_path, monkeypatch, capsys, tiny_model_dir,
                                                          tiny_data_dir):
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir)
    for module, extra in (("ray", "ray"), ("submitit", "slurm")):
        monkeypatch.setitem(sys.modules, module, None)  # an import of it fails, as when not installed
        code = main(["study", str(path), "--results_dir", str(tmp_path / "results"), "--executor", extra])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err == (f"error: --executor {extra} needs the {module} package: "
                                     f"pip install 'balora[{extra}]'")
    assert not (tmp_path / "results").exists()


def test_gpus_asked_of_a_machine_without_any_is_one_line(tmp_path, monkeypatch, capsys, tiny_model_dir,
                                                         tiny_data_dir):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    path = write_study(tmp_path, tiny_model_dir, tiny_data_dir)
    code = main(["study", str(path), "--results_dir", str(tmp_path / "results"), "--executor", "local",
                 "--gpus_per_experiment", "0.25"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "this machine has no GPU" in err
    assert not (tmp_path / "results").exists()
