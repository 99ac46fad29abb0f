"""One real measured training step on a tiny nf4 base, in this process and in its own."""

import pytest

from balora.memory.step import StepSpec, measure_in_subprocess, run_step


@pytest.fixture
def nf4_spec(tiny_quantizable_model_dir):
    pytest.importorskip("bitsandbytes", reason="pip install 'balora[quant]'")
    return StepSpec(tiny_quantizable_model_dir, 2, "lora", {"quantization": "nf4", "lora_r": 4}, batch_size=4,
                    max_length=16)


def test_a_step_on_an_nf4_base_counts_the_model_and_what_the_step_added(nf4_spec):
    from balora.memory.accounting import model_bytes
    from balora.modeling import load_classifier
    from balora.quantization import QuantizationOptions

    result = run_step(nf4_spec)
    base = load_classifier(nf4_spec.model_name_or_path, 2, 0, quantization=QuantizationOptions(quantization="nf4"))
    assert result["fits"] and result["peak_bytes"] > model_bytes(base.model)


def test_the_measure_runs_in_its_own_process(nf4_spec):
    assert measure_in_subprocess(nf4_spec) > 0


def test_a_decoder_step_is_measured_on_its_language_modelling_loss(tiny_decoder_dir):
    # num_labels None: the causal LM with its own head, as `balora train` trains it on prompt / response data
    result = run_step(StepSpec(tiny_decoder_dir, None, "lora", {"lora_r": 4}, batch_size=2, max_length=16))
    assert result["fits"] and result["peak_bytes"] > 0


def test_the_memory_command_measures_what_train_would_load_for_the_dataset():
    from balora.commands import _model_and_head
    from balora.config import DEFAULT_MODEL
    from balora.packaged_models import SMOLLM2

    assert _model_and_head(None, "alpaca", None) == (SMOLLM2, None)
    assert _model_and_head(None, "ag_news", None) == (DEFAULT_MODEL, 4)
    assert _model_and_head(None, "alpaca", 3) == (SMOLLM2, 3)
