"""Batches of similar length: padding to the longest of a batch costs nothing when all are alike.

Training draws batches of similar length in a random order (so the optimisation still sees
random batches), evaluation runs over the examples sorted by length, and predictions are put
back in the data's own order before anyone reads them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Sampler
from transformers import Trainer

# Examples shuffled, cut into pools of this many batches, sorted by length inside each pool: the
# larger the pool, the less padding; the pool keeps which examples meet in a batch random.
POOL_BATCHES = 50


def token_lengths(dataset) -> np.ndarray:
    """Tokens per example (one column read, not one row at a time)."""
    return np.fromiter((len(ids) for ids in dataset["input_ids"]), dtype=np.int64, count=len(dataset))


def length_grouped_order(lengths: np.ndarray, batch_size: int, generator: torch.Generator | None = None,
                         pool_batches: int = POOL_BATCHES) -> list[int]:
    """A random order of the examples in which each run of ``batch_size`` has similar lengths,
    and the batches themselves come in random order (no long-to-short sweep through an epoch)."""
    order = torch.randperm(len(lengths), generator=generator).numpy()
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        members = order[start:start + pool]
        members = members[np.argsort(-lengths[members], kind="stable")]
        batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [int(i) for b in shuffled for i in batches[b]]


class LengthGroupedBatches(Sampler):
    """Training sampler whose order is a function of (seed, epoch): the Trainer calls
    ``set_epoch``, so a run resumed in the middle of an epoch replays that epoch's order exactly
    and skips the batches it had already trained on (a draw from the global generator would not,
    since the generator's state at a step checkpoint is not its state at the epoch's start)."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int = 0):
        self.lengths, self.batch_size, self.seed, self.epoch = lengths, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(length_grouped_order(self.lengths, self.batch_size, generator))


def by_length(dataset):
    """The dataset sorted longest first, and the order that undoes it (see ``in_original_order``)."""
    order = np.argsort(-token_lengths(dataset), kind="stable")
    return dataset.select(order), order


def in_original_order(order: np.ndarray, values):
    """Rows of ``values`` (computed on ``dataset.select(order)``) back in the dataset's order."""
    values = np.asarray(values)
    restored = np.empty_like(values)
    restored[order] = values
    return restored


class LengthGroupedTrainer(Trainer):
    """The Trainer with length-grouped training batches. Evaluation datasets are sorted by the
    caller (``by_length``); they are read in the order given, as the plain Trainer reads them."""

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if dataset is None or "input_ids" not in getattr(dataset, "column_names", ()):
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return LengthGroupedBatches(token_lengths(dataset),
                                    self.args.train_batch_size * self.args.gradient_accumulation_steps, seed)
