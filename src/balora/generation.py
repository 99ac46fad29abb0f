"""Batched greedy generation: prompts left-padded so every row's next token sits at the same
position, the KV cache on, longest prompts first (a batch pads to its longest), outputs back in
the caller's order."""

from __future__ import annotations

import sys

import torch


def left_padded(prompts: list[list[int]], pad_token_id: int) -> dict[str, torch.Tensor]:
    longest = max(map(len, prompts))
    return {"input_ids": torch.tensor([[pad_token_id] * (longest - len(p)) + list(p) for p in prompts]),
            "attention_mask": torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts])}


def progress_marks(batches: int, parts: int = 10) -> set[int]:
    """The batch indices (after the first) at which a tenth more of the batches is done."""
    return {round(batches * k / parts) for k in range(1, parts)} & set(range(1, batches))


@torch.no_grad()
def generate_greedy(model, tokenizer, prompts: list[list[int]], max_new_tokens: int, batch_size: int,
                    device: torch.device, description: str = "Generating", report=None) -> list[str]:
    """The decoded continuation of each prompt (special tokens dropped, stripped). Off a terminal,
    where no bar is drawn, ``report(done, total)`` is called at every tenth of the batches, so a
    log shows that a long generation is moving."""
    from tqdm.auto import tqdm

    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    outputs: list[str | None] = [None] * len(prompts)
    was_training = model.training
    model.eval()
    starts = range(0, len(order), batch_size)
    marks = progress_marks(len(starts)) if report is not None and not sys.stderr.isatty() else set()
    try:
        for step, start in enumerate(tqdm(starts, desc=description, disable=not sys.stderr.isatty())):
            if step in marks:
                report(start, len(order))
            rows = order[start:start + batch_size]
            batch = {k: v.to(device) for k, v in left_padded([prompts[i] for i in rows], tokenizer.pad_token_id).items()}
            generated = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                       temperature=None, top_p=None, top_k=None, use_cache=True,
                                       pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            new_tokens = generated[:, batch["input_ids"].shape[1]:]
            for i, text in zip(rows, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
                outputs[i] = text.strip()
    finally:
        model.train(was_training)
    return outputs
