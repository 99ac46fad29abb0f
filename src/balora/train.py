"""`balora train`: data -> model -> method -> training -> evaluation -> results on disk.

Read top to bottom: everything that can reject the input happens before the experiment folder
is created, so bad input never leaves a half-written experiment behind. Once the folder exists,
every way out of the run is written to its status.json: completed, failed (with the error),
or interrupted (Ctrl-C; resumable).
"""

from __future__ import annotations

import shutil
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

from balora.config import TrainConfig
from balora.console import Console, is_main_process, plural
from balora.counting import ParameterCounts, count_parameters
from balora.errors import Interrupted, StorageFailure, TrainingFailure, UserError, storage_problem
from balora.experiment_lock import ExperimentLock
from balora.methods import MethodContext
from balora.methods.base import AfterTraining
from balora.memory.accounting import PeakMemory, memory_line, memory_summary, saved_weights
from balora.preparation import check_rank_limits, prepare_loaded, quantization_of, resolve_method
from balora.model_card import write_model_card
from balora.modeling import check_model_source, training_device
from balora.quantization import QuantizationOptions, quantization_summary
from balora.record import DataSummary, ResultsRecord, RuntimeSummary, SplitSizes, Timing
from balora.run_inputs import Inputs, check_cap, dataset_spec_of, load_inputs, resolved_settings, with_resolved_defaults
from balora.results import ExperimentDir, atomic_write_json, git_commit, library_versions, read_json
from balora.signals import check_interrupt, honours_interrupts, training_phase
from balora.tasks import task_for
from balora.tasks.base import EvaluationInputs, TestOutcome
from balora.training.batching import by_length
from balora.training.callbacks import (EpochReport, LossWatch, MemoryPeaks, MethodState, StopOnSignal, TrainingClock,
                                      read_method_state)
from balora.training.precision import bound_kernel_caches, match_threads_to_cores, resolve_precision
from balora.training.trackers import require_tracker, tracker_run
from balora.training.trainer import build_trainer


def name_base_model(checkpoint: Path, name: str) -> None:
    """Record the base model as the user named it, not by this machine's path to it."""
    adapter_config = checkpoint / "adapter_config.json"
    if adapter_config.exists():
        settings = read_json(adapter_config)
        settings["base_model_name_or_path"] = name
        atomic_write_json(adapter_config, settings)


def experiment_recorder(experiment: ExperimentDir):
    """Append-a-JSON-line to a file of the experiment, from the main process only."""
    if not is_main_process():
        return lambda file_name, entry: None
    return lambda file_name, entry: experiment.append_record(entry, file_name)


def after_training(prepared, model, head_modules, at_start: ParameterCounts) -> AfterTraining:
    """What the trained model keeps; the peak is the most it held (never less than at the start)."""
    if prepared.after_training is not None:
        return prepared.after_training(model)
    now = count_parameters(model, head_modules)
    return AfterTraining(now.with_adapter(now.adapter, max(now.adapter, at_start.adapter)))


def best_evaluation(log_history: list[dict], metric: str, kept_step: int | None, greater_is_better: bool = True) -> dict:
    """The evaluation of the checkpoint the Trainer kept, without the eval_ prefixes."""
    evals = [entry for entry in log_history if f"eval_{metric}" in entry]
    kept = [entry for entry in evals if entry["step"] == kept_step]
    sign = 1 if greater_is_better else -1
    best = kept[-1] if kept else max(evals, key=lambda e: sign * e[f"eval_{metric}"])
    return {key.removeprefix("eval_"): value for key, value in best.items()}


@honours_interrupts
def train(config: TrainConfig, options: dict[type, object], console: Console | None = None,
          test_split: bool = True) -> ResultsRecord:
    """Fine-tune one model on one dataset with one method and write its experiment folder.
    ``test_split`` False: the test split is not scored (a study's search run; balora.deferred_test
    scores it later from the saved model if its rate is the one chosen)."""
    console = console or Console()
    started = time.perf_counter()

    # --- Validate everything that can be validated without touching the disk.
    method, options = resolve_method(config.peft_method, options)
    spec = dataset_spec_of(config)
    task = task_for(spec, config.task)
    config = with_resolved_defaults(config, spec, method)  # before anything records the settings
    settings = resolved_settings(config, options)
    require_tracker(config.report_to)
    check_model_source(config.model_name_or_path)
    resolve_precision(config.precision)  # e.g. fp16 without a GPU is refused before any folder exists
    method.check(config, options, causal_lm=spec.is_text_to_text)  # e.g. a PEFT config's fields, before loading
    bound_kernel_caches()  # before any matrix product: each library reads its cap once

    # --- One writer per experiment: the lock comes before the folder is looked at, and is held
    # until the run ends (the OS drops it if the process dies).
    lock = ExperimentLock(config.results_dir, config.experiment_name) if is_main_process() else nullcontext()
    with lock:
        experiment = ExperimentDir(config.results_dir, config.experiment_name)
        mode = start_mode(experiment, config, settings)
        if mode == "finished":
            console.say(f"--- {experiment.path} had written its results before it was stopped: nothing to redo")
            return ResultsRecord.from_dict(experiment.finish_commit() if is_main_process()
                                           else read_json(experiment.file("results_final.json")))
        quantization = quantization_of(options)
        inputs = load_inputs(config, spec, task, console.say, quantization)
        check_cap(config, options, inputs)
        check_rank_limits(method, options, inputs.loaded.model, inputs.loaded.head_modules)  # before the folder
        check_interrupt()  # one that a library swallowed while loading
        if is_main_process():
            try:
                experiment.start(mode, settings)
                console.attach(experiment.file("training_log.txt"))
            except OSError as err:  # nothing has started: like bad input, exit 2 and nothing left
                experiment.discard_if_new()
                raise UserError(storage_problem(err, experiment.path) or f"cannot write {experiment.path}: {err}") from None
            if mode == "resume":
                console.say(f"--- resuming {experiment.path}")
        try:
            with tracker_run(config.report_to):
                return run_and_record(config, method, options, settings, inputs, experiment, mode, console.say,
                                      setup_seconds=time.perf_counter() - started, started=started,
                                      test_split=test_split)
        except UserError:
            experiment.discard_if_new()
            raise
        except KeyboardInterrupt:
            mark(experiment, "interrupted", "interrupted (Ctrl-C or SIGTERM); rerun with --resume to continue")
            raise Interrupted(f"interrupted: {experiment.path} is marked interrupted; rerun with --resume to "
                              "continue") from None
        except TrainingFailure as err:
            mark(experiment, "failed", str(err))
            raise
        except Exception as err:  # a crash must not leave `running`, which reads as "merely interrupted"
            problem = storage_problem(err, experiment.path)
            if problem is None and experiment.storage_full():
                problem = f"cannot write in {experiment.path}: no space left on device ({type(err).__name__}: {err})"
            if problem is not None:  # disk full, read-only: the status file may still be writable
                if is_main_process():
                    experiment.drop_unfinished_checkpoints()
                mark(experiment, "failed", problem)
                raise StorageFailure(problem) from err
            if is_main_process():
                with open(experiment.file("training_log.txt"), "a") as log:
                    traceback.print_exc(file=log)
            mark(experiment, "failed", f"{type(err).__name__}: {err}")
            raise TrainingFailure(f"unexpected {type(err).__name__}: {err} (traceback in "
                                  f"{experiment.file('training_log.txt')})") from err


def start_mode(experiment: ExperimentDir, config: TrainConfig, settings: dict) -> str:
    """new, overwrite or resume. Only the main process reads the folder: by the time another
    process of the same run looks, the main one may have marked it running already, which reads
    as a killed run. The others follow the flags; where the main process refuses, it exits and
    the launcher stops the rest."""
    if is_main_process():
        return experiment.check_can_start(config.overwrite, config.resume, settings)
    if config.resume and experiment.committed():  # written before this run began: nothing to train
        return "finished"
    return "resume" if config.resume else "overwrite" if config.overwrite else "new"


def mark(experiment: ExperimentDir, status: str, error: str) -> None:
    if is_main_process():
        try:
            experiment.set_status(status, error=error)
        except OSError:  # the disk that failed the run may refuse this too: the error line still says why
            pass


def run_and_record(config: TrainConfig, method, options, settings, inputs: Inputs, experiment: ExperimentDir,
                   mode: str, say, setup_seconds: float, started: float, test_split: bool = True) -> ResultsRecord:
    data, tokenized, loaded, task = inputs.data, inputs.tokenized, inputs.loaded, inputs.task
    spec = data.spec
    evaluation = task.trainer_evaluation(spec)
    evaluation_inputs = EvaluationInputs(tokenized, inputs.collator, inputs.tokenizer, spec, config, say,
                                         test_rows=data.splits.get("test"), test_split=test_split)
    resuming_from = experiment.latest_checkpoint() if mode == "resume" else None
    context = MethodContext(config=config, options=options, head_modules=loaded.head_modules,
                            train_dataset=tokenized["train"], validation_dataset=tokenized["validation"],
                            collator=inputs.collator, say=say, record=experiment_recorder(experiment),
                            resumed_state=read_method_state(resuming_from))
    prepared = prepare_loaded(method, loaded.model, context)
    check_interrupt()
    counts = count_parameters(prepared.model, loaded.head_modules)
    say(f"Trainable parameters: {counts.trainable:,} (adapter {counts.adapter:,}, head {counts.head:,}) "
        f"of {counts.total:,} ({100 * counts.trainable / counts.total:.2f}%)")
    if is_main_process():
        for name, artifact in prepared.artifacts.items():
            experiment.write_json(name, artifact)

    untuned = task.untuned(prepared.model, evaluation_inputs)
    check_interrupt()
    loss_watch = LossWatch(method.name)
    report = EpochReport(say, experiment.append_record if is_main_process() else lambda r: None,
                         loss_watch, evaluation.metric)
    clock = TrainingClock(resuming_from, started)
    peaks = MemoryPeaks(resuming_from)
    # Evaluation in length-sorted batches pads little; metrics do not depend on the order, and
    # the test predictions are put back in the data's order below.
    validation, _ = by_length(tokenized["validation"])
    trainer = build_trainer(prepared.model, config, experiment.checkpoints, {**tokenized, "validation": validation},
                            inputs.collator, inputs.tokenizer, evaluation,
                            [loss_watch, report, clock, peaks, MethodState(prepared.resume_state), *prepared.callbacks,
                             StopOnSignal()])
    runtime = RuntimeSummary(precision=resolve_precision(config.precision), torch_threads=match_threads_to_cores(),
                             attention=getattr(loaded.model.config, "_attn_implementation", None))
    say(f"Precision {runtime.precision} (--precision {config.precision}), "
        f"{plural(runtime.torch_threads, 'torch thread')}, {runtime.attention} attention")

    # --- Train; the best epoch by validation metric is restored at the end.
    peak = peaks.tracker = PeakMemory.start(training_device())
    try:
        with training_phase():  # a signal saves a checkpoint at the step's end, then interrupts
            trainer.train(resume_from_checkpoint=resuming_from)
    finally:
        peak_training = peaks.training_peak(peak.report())  # also stops the CPU sampler when training fails
    train_seconds = clock.seconds()
    trained = after_training(prepared, trainer.model, loaded.head_modules, counts)
    counts = trained.counts

    # --- Test the kept model once; its validation scores were logged at its epoch.
    eval_started = time.perf_counter()
    best = best_evaluation(trainer.state.log_history, evaluation.metric, trainer.state.best_global_step,
                           evaluation.greater_is_better)
    val_metrics = {name: best[name] for name in task.validation_metrics(spec)}
    say(f"Validation {evaluation.metric}: {val_metrics[evaluation.metric]:.4f}"
        + (f" (untuned model: {untuned['validation'][evaluation.metric]:.4f})" if untuned else ""))
    val_metrics.update(task.kept_validation(trainer.model, evaluation_inputs))  # e.g. answer_match's exact match
    tested = task.test(trainer, trainer.model, evaluation_inputs) if test_split else TestOutcome({})
    check_interrupt()
    test_metrics = tested.metrics
    eval_seconds = time.perf_counter() - eval_started

    record = ResultsRecord(
        experiment_name=config.experiment_name,
        status="completed",
        method=method.name,
        dataset=spec.name,
        model_name_or_path=config.model_name_or_path,
        seed=config.seed,
        task=task.name,
        headline_metric=task.metric(spec),  # the Trainer's metric, or one scored after it (answer_match)
        metrics={"validation": val_metrics, "test": test_metrics, **({"untuned": untuned} if untuned else {})},
        best_epoch=best["epoch"],
        best_step=best["step"],
        parameters=counts,
        data=DataSummary(source=data.source, sizes=SplitSizes(**{name: len(split) for name, split in tokenized.items()}),
                         split_origin=data.split_origin, label_names=list(spec.label_names)),
        timing=Timing(setup_seconds=setup_seconds, phases=dict(prepared.phase_seconds), train_seconds=train_seconds,
                      eval_seconds=eval_seconds, total_seconds=clock.total_seconds(),
                      optimizer_steps=trainer.state.global_step),
        peak_memory=peaks.process_peaks(),
        runtime=runtime,
        method_summary={**prepared.summary, **trained.summary},
        versions=library_versions(),
        git_commit=git_commit(),
        config=settings,
    )
    if is_main_process():
        staged = experiment.path / "model_checkpoint.tmp"
        shutil.rmtree(staged, ignore_errors=True)
        prepared.save_model(trainer.model, str(staged))
        inputs.tokenizer.save_pretrained(str(staged))
        record.memory = memory_summary(inputs.base_bytes, saved_weights(staged), counts.trainable, peak_training,
                                       quantization_summary(options.get(QuantizationOptions)))
        say(memory_line(record.memory))
        name_base_model(staged, config.model_name_or_path)
        write_model_card(record, staged)  # README.md: the Hub's metadata block, metrics, the command
        shutil.rmtree(experiment.model_checkpoint, ignore_errors=True)
        staged.replace(experiment.model_checkpoint)
        for file_name, write in tested.files.items():
            write(experiment.file(file_name))
        check_interrupt()  # the last moment before the commit point
        experiment.write_json("results_final.json", record.as_dict())
        shutil.rmtree(experiment.checkpoints, ignore_errors=True)  # only needed to resume
        experiment.set_status("completed")
    say(f"Results: {experiment.path}")
    return record
