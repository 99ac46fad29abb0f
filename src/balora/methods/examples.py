"""The training examples a method looks at before training (BA-LoRA's gradients, LoRA-GA's gradient
estimate, EVA's activations): a seeded draw, so a rerun or a resume sees the same ones."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader


def seeded_order(size: int, seed: int) -> list[int]:
    """A random order of ``size`` example indices that depends on ``seed`` only."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()


def device_batches(dataset, indices: list[int], collator, batch_size: int, device: torch.device):
    """Batches of ``dataset``'s examples at ``indices``, in that order, moved to ``device``."""
    for batch in DataLoader(dataset.select(indices), batch_size=batch_size, collate_fn=collator):
        yield {key: value.to(device) for key, value in batch.items()}
