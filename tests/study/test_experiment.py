"""One experiment of a study (balora.study.experiment): the chosen rate's search run is tested from
its saved model, and where only its record was kept (a study's records carried to another machine
without their models) it is trained again with its seed and settings and tests itself."""

from __future__ import annotations

import shutil

from balora.study.experiment import ExperimentJob, run_experiment


def job(results_dir, data_dir, model_dir, **kinds) -> ExperimentJob:
    settings = {"dataset": "sst2", "data_dir": str(data_dir), "model_name_or_path": model_dir, "epochs": 1,
                "batch_size": 8, "peft_method": "lora"}
    return ExperimentJob(str(results_dir), "tiny-lr0.005-s42", settings, 5e-3, 42, **kinds)


def test_a_search_run_is_tested_from_its_saved_model(tmp_path, tiny_data_dir, tiny_model_dir):
    searched = run_experiment(job(tmp_path, tiny_data_dir, tiny_model_dir, search=True, test_split=False))
    assert searched.status == "completed" and not searched.results.tested
    tested = run_experiment(job(tmp_path, tiny_data_dir, tiny_model_dir, test_only=True))
    assert tested.status == "completed" and tested.results.tested and tested.ran_now
    assert tested.results.validation() == searched.results.validation()


def test_a_record_kept_without_its_model_is_trained_again_to_be_tested(tmp_path, tiny_data_dir, tiny_model_dir):
    searched = run_experiment(job(tmp_path, tiny_data_dir, tiny_model_dir, search=True, test_split=False))
    shutil.rmtree(tmp_path / "tiny-lr0.005-s42" / "model_checkpoint")
    tested = run_experiment(job(tmp_path, tiny_data_dir, tiny_model_dir, test_only=True))
    assert tested.status == "completed", tested.error
    assert tested.results.tested and tested.ran_now
    assert tested.results.validation() == searched.results.validation()  # the same run, trained again
    assert (tmp_path / "tiny-lr0.005-s42" / "model_checkpoint" / "adapter_config.json").exists()
