"""One example as the model reads it: the tokenizer's chat template where it has one, else the
Alpaca prompt (instruction, optional input, "### Response:")."""

from __future__ import annotations

ALPACA_HEADER = "Below is an instruction that describes a task{paired}. Write a response that appropriately completes the request.\n\n"
ALPACA_PAIRED = ", paired with an input that provides further context"


def alpaca_prompt(instruction: str, context: str) -> str:
    if context:
        return (ALPACA_HEADER.format(paired=ALPACA_PAIRED)
                + f"### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n")
    return ALPACA_HEADER.format(paired="") + f"### Instruction:\n{instruction}\n\n### Response:\n"


def uses_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer, instruction: str, context: str) -> str:
    """The text before the response. A chat template adds its own special tokens; the Alpaca
    prompt is tokenised with the tokenizer's (e.g. Llama's BOS)."""
    if uses_chat_template(tokenizer):
        user = f"{instruction}\n\n{context}" if context else instruction
        return tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                             add_generation_prompt=True)
    return alpaca_prompt(instruction, context)


def instruction_and_context(spec, prompt: str, context: str) -> tuple[str, str]:
    """A dataset with a fixed instruction (SAMSum's "Summarize ...") makes its prompt column the input."""
    if spec.instruction:
        return spec.instruction, prompt
    return prompt, context
