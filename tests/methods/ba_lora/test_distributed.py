"""Two CPU processes (gloo) must allocate exactly what one process allocates on the same examples."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from balora.allocation import allocate_ranks
from balora.methods.ba_lora.importance import accumulate_gradients, importance_scores, shard
from conftest import tiny_bert
from methods.ba_lora.test_importance import TARGETS, random_batches

SHAPES = {name: ((32, 64) if "intermediate" in name else (32, 32)) for name in TARGETS}
EXAMPLES = random_batches([1] * 12, seed=5)  # one example per "batch", so shards are exact subsets


def allocation_here():
    model = tiny_bert(seed=1)
    mine = [EXAMPLES[i] for i in shard(list(range(len(EXAMPLES))))]
    result = accumulate_gradients(model, TARGETS, mine, num_examples=len(EXAMPLES), dtype=torch.float64)
    scores = importance_scores(result.gradients, dict(model.named_modules()), "sensitivity")
    return allocate_ranks(SHAPES, scores, 1500, 1, 12).ranks, result.mean_loss


def worker(rank, world, port, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        queue.put((rank, *allocation_here()))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_allocation_equals_single_process():
    single_ranks, single_loss = allocation_here()
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = free_port()
    processes = [context.Process(target=worker, args=(r, 2, port, queue)) for r in range(2)]
    for p in processes:
        p.start()
    results = [queue.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    for _, ranks, loss in results:
        assert ranks == single_ranks
        assert abs(loss - single_loss) < 1e-9
    assert len(set(single_ranks.values())) > 1  # the case is not trivially uniform
