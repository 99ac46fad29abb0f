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


def padded(examples):
    """One batch of examples of different lengths, right-padded (labels of a causal LM padded with -100)."""
    width = max(e["input_ids"].shape[0] for e in examples)
    batch = {}
    for key, fill in (("input_ids", 0), ("attention_mask", 0), ("labels", -100)):
        if examples[0][key].dim() == 0:
            batch[key] = torch.stack([e[key] for e in examples])
            continue
        batch[key] = torch.stack([torch.cat([e[key], torch.full((width - e[key].shape[0],), fill)]) for e in examples])
    return batch


def varied_examples(count, causal, seed=0):
    generator = torch.Generator().manual_seed(seed)
    examples = []
    for _ in range(count):
        length = int(torch.randint(4, 12, (1,), generator=generator))
        ids = torch.randint(3, 250, (length,), generator=generator)
        if causal:  # a prompt of random length carries no loss; responses differ in length
            labels = ids.clone()
            labels[:int(torch.randint(1, length - 1, (1,), generator=generator))] = -100
        else:
            labels = torch.randint(0, 2, (), generator=generator)
        examples.append({"input_ids": ids, "attention_mask": torch.ones(length, dtype=torch.long), "labels": labels})
    return examples


def tiny_llama():
    from transformers import AutoModelForCausalLM

    from tiny_decoders import tiny_decoder_config

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(tiny_decoder_config("llama", 300))


LLAMA_TARGETS = [f"model.layers.{i}.{p}" for i in range(2) for p in ("self_attn.q_proj", "self_attn.v_proj",
                                                                       "mlp.down_proj")]


@pytest.mark.parametrize("causal", [False, True], ids=["bert", "llama"])
def test_micro_batched_gradients_equal_the_whole_batch_gradients(causal):
    model, targets = (tiny_llama(), LLAMA_TARGETS) if causal else (tiny_bert(), TARGETS)
    examples = varied_examples(12, causal)
    whole = accumulate_gradients(model, targets, [padded(examples)], 12)
    micro = accumulate_gradients(model, targets, [padded(examples[i:i + 5]) for i in range(0, 12, 5)], 12)
    for name in targets:
        difference = (micro.gradients[name] - whole.gradients[name]).norm() / whole.gradients[name].norm()
        assert difference < 1e-5, (name, float(difference))
    assert micro.mean_loss == pytest.approx(whole.mean_loss, rel=1e-5)


def test_loss_terms_count_examples_or_the_tokens_that_carry_loss():
    from balora.methods.ba_lora.importance import loss_terms

    assert loss_terms({"labels": torch.tensor([0, 1, 1])}) == 3
    # the first position is never predicted; -100 marks prompt and padding
    assert loss_terms({"labels": torch.tensor([[5, 6, 7, -100], [-100, -100, 8, 9]])}) == 2 + 2


def test_a_batch_without_loss_tokens_is_skipped_not_turned_into_nan():
    model = tiny_llama()
    examples = varied_examples(4, causal=True)
    silent = {**examples[0], "labels": torch.full_like(examples[0]["labels"], -100)}
    result = accumulate_gradients(model, LLAMA_TARGETS, [padded(examples), padded([silent])], 5)
    alone = accumulate_gradients(model, LLAMA_TARGETS, [padded(examples)], 4)
    assert all(torch.isfinite(g).all() for g in result.gradients.values())
    torch.testing.assert_close(result.gradients[LLAMA_TARGETS[0]], alone.gradients[LLAMA_TARGETS[0]])


def test_top_singular_values_exact_and_randomized_agree_on_a_gradient_like_spectrum():
    from balora.methods.ba_lora.importance import top_singular_values

    generator = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(300, 300, generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(200, 200, generator=generator, dtype=torch.float64))
    sigma = 0.7 ** torch.arange(200, dtype=torch.float64)  # decays fast, as first-step gradients do
    grad = (u[:, :200] * sigma) @ v.T
    exact = top_singular_values(grad, 12)
    randomized = top_singular_values(grad, 12, exact_up_to=100)
    assert exact == pytest.approx(sigma[:12].tolist(), rel=1e-9)
    assert randomized == pytest.approx(exact, rel=1e-4)
    assert len(top_singular_values(grad[:5], 12)) == 5  # no more values than the matrix has


def test_nothing_of_the_pass_outlives_it():
    """Training's memory is measured from its start: the pass must leave no hook, graph or activation behind."""
    import gc
    import weakref

    model = tiny_bert()
    seen = []  # weak references to every activation a target layer received during the pass
    spy = dict(model.named_modules())[TARGETS[0]].register_forward_hook(
        lambda module, inputs, output: seen.extend([weakref.ref(inputs[0]), weakref.ref(output)]))
    batches = (batch for batch in random_batches([4, 4]))  # consumed by the pass alone, as device_batches are
    result = accumulate_gradients(model, TARGETS, batches, 8)
    spy.remove()
    gc.collect()
    assert len(seen) == 4 and all(ref() is None for ref in seen)
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())
    assert all(g.grad_fn is None and not g.requires_grad for g in result.gradients.values())
