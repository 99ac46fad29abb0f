"""Growing (and cutting) LoRA ranks in place: outputs unchanged, optimizer state kept."""

import torch
from peft import LoraConfig, TaskType, get_peft_model

from balora.methods.plateau.growth import lora_layers, set_model_rank
from conftest import tiny_bert


def lora_model(rank=2, seed=0):
    model = get_peft_model(tiny_bert(seed=seed), LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=4,
                                                            target_modules=["query", "value"], lora_dropout=0.0))
    with torch.no_grad():  # B starts at zero; give the adapter a real effect so preservation means something
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    return model.eval()


def inputs():
    return {"input_ids": torch.randint(0, 1000, (3, 7)), "attention_mask": torch.ones(3, 7, dtype=torch.long)}


def test_growth_preserves_outputs_exactly_and_records_the_new_rank():
    model, batch = lora_model(), inputs()
    with torch.no_grad():
        before = model(**batch).logits
    set_model_rank(model, 6)
    with torch.no_grad():
        after = model(**batch).logits
    # Exact but for float summation order (the added products are exactly zero).
    torch.testing.assert_close(after, before, rtol=0, atol=1e-7)
    for layer in lora_layers(model):
        assert layer.lora_A["default"].weight.shape[0] == layer.lora_B["default"].weight.shape[1] == 6
        assert layer.r["default"] == 6 and layer.scaling["default"] == 2.0  # alpha 4 / r 2, kept
        assert torch.count_nonzero(layer.lora_B["default"].weight[:, 2:]) == 0
        assert torch.count_nonzero(layer.lora_A["default"].weight[2:]) > 0
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha) == (6, 12.0)  # a reload computes the same scaling


def test_growth_keeps_the_optimizer_and_its_state():
    model, batch = lora_model(), inputs()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    model(**batch, labels=torch.tensor([0, 1, 0])).loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    lora_a = next(p for n, p in model.named_parameters() if "lora_A" in n)
    old_moment = optimizer.state[lora_a]["exp_avg"].clone()
    old_step = optimizer.state[lora_a]["step"].clone()

    set_model_rank(model, 4, optimizer)
    state = optimizer.state[lora_a]
    assert any(p is lora_a for p in optimizer.param_groups[0]["params"])  # the same Parameter object
    assert state["exp_avg"].shape == lora_a.shape == (4, 32)
    torch.testing.assert_close(state["exp_avg"][:2], old_moment, rtol=0, atol=0)
    assert torch.count_nonzero(state["exp_avg"][2:]) == 0 and torch.equal(state["step"], old_step)
    model(**batch, labels=torch.tensor([0, 1, 0])).loss.backward()
    optimizer.step()  # shapes agree, so the next step runs
    assert lora_a.grad.shape == (4, 32)


def test_cutting_back_keeps_the_first_ranks():
    model = lora_model(rank=4)
    lora_a = next(p for n, p in model.named_parameters() if "lora_A" in n)
    first = lora_a.detach()[:2].clone()
    set_model_rank(model, 2)
    assert torch.equal(lora_a.detach(), first)
