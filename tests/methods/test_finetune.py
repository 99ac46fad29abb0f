import pytest

from balora.config import TrainConfig
from balora.errors import ConfigError
from balora.methods import MethodContext
from balora.methods.finetune import PartialOptions, prepare_full, prepare_partial
from conftest import tiny_bert


def context(freeze_layers=0):
    return MethodContext(config=TrainConfig(experiment_name="t"), options={PartialOptions: PartialOptions(freeze_layers)},
                         head_modules=["classifier"], train_dataset=None, collator=None, say=lambda line: None)


def trainable_names(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_full_trains_everything():
    model = prepare_full(tiny_bert(), context()).model
    assert all(p.requires_grad for p in model.parameters())


def test_partial_freezes_embeddings_and_the_first_layers():
    model = prepare_partial(tiny_bert(layers=3), context(freeze_layers=2)).model
    names = trainable_names(model)
    assert not any("embeddings" in n or ".layer.0." in n or ".layer.1." in n for n in names)
    assert any(".layer.2." in n for n in names) and "classifier.weight" in names and "bert.pooler.dense.weight" in names


def test_partial_with_zero_layers_freezes_only_embeddings():
    names = trainable_names(prepare_partial(tiny_bert(), context(0)).model)
    assert any(".layer.0." in n for n in names) and not any("embeddings" in n for n in names)


def test_partial_rejects_more_layers_than_the_model_has():
    with pytest.raises(ConfigError, match="--freeze_layers: the model has 2 layers"):
        prepare_partial(tiny_bert(), context(3))
    with pytest.raises(ConfigError, match="--freeze_layers"):
        PartialOptions(-1)
