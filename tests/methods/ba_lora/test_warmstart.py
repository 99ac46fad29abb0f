import torch

from balora.methods.ba_lora.importance import accumulate_gradients
from balora.methods.ba_lora.warmstart import load_into_peft, orthonormal_rows, warm_start
from balora.methods.lora.model import anchored, wrap_with_lora
from conftest import tiny_bert
from methods.ba_lora.test_importance import TARGETS, random_batches


def test_orthonormal_rows():
    a = orthonormal_rows(5, 32, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a @ a.T, torch.eye(5), atol=1e-6, rtol=0)


def test_warm_start_lowers_the_calibration_loss_and_is_one_projected_gradient_step():
    model = tiny_bert(seed=3)
    batches = random_batches([8, 8], seed=1)
    gradients = accumulate_gradients(model, TARGETS, batches, 16).gradients
    calibration = random_batches([8], seed=1)[0]  # same distribution as the gradient samples
    ranks = {name: 4 for name in TARGETS}
    start = warm_start(model, gradients, ranks, calibration, basis="random", seed=0)
    assert start.applied and start.loss_after < start.loss_before

    model.eval()
    with torch.no_grad():
        base_loss = float(model(**calibration).loss)
    peft_model = wrap_with_lora(model, TARGETS, ["classifier"], rank=4, alpha=16, dropout=0.0,
                                rank_pattern={anchored(n): r for n, r in ranks.items()})
    assert load_into_peft(peft_model, start) == len(TARGETS)
    peft_model.eval()
    with torch.no_grad():
        warm_loss = float(peft_model(**calibration).loss)
    assert warm_loss < base_loss
    assert abs(warm_loss - start.loss_after) < 1e-5

    modules = dict(peft_model.base_model.model.named_modules())
    for name in TARGETS:
        layer = modules[name]
        update = layer.scaling["default"] * layer.lora_B["default"].weight @ layer.lora_A["default"].weight
        a = start.lora_a[name]
        torch.testing.assert_close(update, -start.eta * gradients[name] @ a.T @ a, atol=1e-6, rtol=1e-4)
        # base weights untouched
        assert torch.equal(layer.base_layer.weight, dict(tiny_bert(seed=3).named_modules())[name].weight)


def test_gradient_basis_uses_the_top_singular_directions():
    model = tiny_bert(seed=3)
    gradients = accumulate_gradients(model, TARGETS, random_batches([8]), 8).gradients
    start = warm_start(model, gradients, {n: 2 for n in TARGETS}, random_batches([8])[0], basis="gradient")
    name = TARGETS[0]
    _, _, vh = torch.linalg.svd(gradients[name])
    torch.testing.assert_close(start.lora_a[name].abs(), vh[:2].abs(), atol=1e-5, rtol=1e-4)


def test_non_finite_gradients_fall_back_with_a_reason():
    model = tiny_bert()
    gradients = {name: torch.full((32, 32), float("nan")) for name in TARGETS[:4]}
    start = warm_start(model, gradients, {n: 2 for n in gradients}, random_batches([2])[0])
    assert not start.applied and start.reason == "non-finite accumulated gradients"


def test_zero_gradients_fall_back_with_a_reason():
    model = tiny_bert()
    gradients = {name: torch.zeros(32, 32) for name in TARGETS[:4]}
    start = warm_start(model, gradients, {n: 2 for n in gradients}, random_batches([2])[0])
    assert not start.applied and start.reason == "all accumulated gradients are zero"
