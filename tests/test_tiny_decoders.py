"""The tiny decoder fixtures load through the Auto classes, and their tokenizer has EOS but no pad token."""

from transformers import AutoModelForCausalLM, AutoTokenizer


def test_tiny_decoder_loads_and_runs(tiny_decoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_decoder_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_decoder_dir)
    assert tokenizer.eos_token is not None and tokenizer.pad_token is None
    ids = tokenizer("the movie was good", return_tensors="pt")["input_ids"]
    assert tokenizer.decode(ids[0]) == "the movie was good"
    logits = model(input_ids=ids).logits
    assert logits.shape == (1, ids.shape[1], len(tokenizer))
