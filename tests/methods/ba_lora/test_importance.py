import pytest
import torch

from balora.methods.ba_lora.importance import accumulate_gradients, importance_scores
from conftest import tiny_bert

TARGETS = [f"bert.encoder.layer.{i}.attention.self.{p}" for i in range(2) for p in ("query", "value")] + [
    "bert.encoder.layer.1.intermediate.dense"]


def random_batches(sizes, seed=0):
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for size in sizes:
        ids = torch.randint(1000, 2000, (size, 7), generator=generator)
        mask = torch.ones_like(ids)
        mask[0, 5:] = 0  # some padding, as in real batches
        batches.append({"input_ids": ids, "attention_mask": mask,
                        "labels": torch.randint(0, 2, (size,), generator=generator)})
    return batches


def test_hook_gradients_equal_autograd_weight_gradients_float64():
    model = tiny_bert().double()
    batches = random_batches([3, 5])
    total = sum(b["labels"].shape[0] for b in batches)
    result = accumulate_gradients(model, TARGETS, batches, total, dtype=torch.float64)

    model.eval()
    model.zero_grad()
    for batch in batches:
        (model(**batch).loss * batch["labels"].shape[0] / total).backward()
    modules = dict(model.named_modules())
    for name in TARGETS:
        torch.testing.assert_close(result.gradients[name], modules[name].weight.grad, rtol=1e-10, atol=1e-12)
    assert result.num_examples == 8 and result.mean_loss > 0


def test_gradient_pass_leaves_weights_frozen_state_and_untouched():
    model = tiny_bert()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.bert.embeddings.requires_grad_(False)
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    accumulate_gradients(model, TARGETS, random_batches([4]), 4)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())  # no weight gradient was ever computed
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


@pytest.mark.parametrize("measure", ["sensitivity", "grad_norm", "nuclear"])
def test_importance_measures(measure):
    model = tiny_bert()
    result = accumulate_gradients(model, TARGETS, random_batches([4]), 4)
    modules = dict(model.named_modules())
    scores = importance_scores(result.gradients, modules, measure)
    assert set(scores) == set(TARGETS) and all(s > 0 for s in scores.values())
    name = TARGETS[0]
    grad, weight = result.gradients[name], modules[name].weight.detach()
    expected = {"sensitivity": (weight * grad).abs().mean(), "grad_norm": grad.norm(),
                "nuclear": torch.linalg.svdvals(grad).sum()}[measure]
    assert scores[name] == pytest.approx(float(expected), rel=1e-5)


def test_the_flag_accepts_exactly_the_measures_the_pass_implements():
    from balora.methods.ba_lora import config, importance

    assert set(config.IMPORTANCE_MEASURES) == set(importance.IMPORTANCE_MEASURES)
