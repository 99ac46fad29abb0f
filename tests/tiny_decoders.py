"""Tiny randomly initialised decoder LMs (Llama, GPT-2) with a tiny byte-level BPE tokenizer, built offline in
milliseconds. The tokenizer has an EOS token and deliberately no pad token, as most decoder checkpoints ship."""

from __future__ import annotations

from pathlib import Path

CORPUS_WORDS = ("good great lovely fine superb happy charming delightful bad awful boring dull terrible sad ugly "
                "poor the a movie film was is and it this summary dialogue instruction response input output "
                "say hello what why how who").split()


def tiny_tokenizer(vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator([" ".join(CORPUS_WORDS)] * 4, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   model_max_length=128)


def tiny_decoder_config(arch: str, vocab_size: int, hidden: int = 32, layers: int = 2):
    """``arch`` is "llama" or "gpt2" (GPT-2 uses Conv1D projections, which PEFT handles differently)."""
    from transformers import GPT2Config, LlamaConfig

    if arch == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                           num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=128, eos_token_id=0, bos_token_id=0, tie_word_embeddings=True)
    if arch == "gpt2":
        return GPT2Config(vocab_size=vocab_size, n_embd=hidden, n_layer=layers, n_head=4, n_positions=128,
                          eos_token_id=0, bos_token_id=0)
    raise ValueError(f"unknown tiny decoder architecture {arch!r}")


def save_tiny_decoder(path: Path, arch: str, seed: int = 0, hidden: int = 32) -> str:
    """Save a tiny causal LM and its tokenizer to ``path``, the way a pretrained decoder checkpoint looks
    (``hidden`` 64 for a 4-bit base: bitsandbytes quantizes in blocks of 64)."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_decoder_config(arch, len(tokenizer), hidden))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
