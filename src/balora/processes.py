"""Which process this is when several train together (torchrun): the one place balora reads it.

An initialised torch.distributed group is authoritative (it is what gradients are reduced over);
without one, the launcher's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE) says
what the group will be once the Trainer creates it; a plain run is process 0 of 1.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessInfo:
    rank: int  # among all processes
    world_size: int
    local_rank: int  # among the processes of this machine (its GPU index)
    local_world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def process_group() -> tuple[int, int] | None:
    """(rank, world size) of the initialised torch.distributed group, or None without one."""
    distributed = sys.modules.get("torch.distributed")  # never import torch just to ask
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        return distributed.get_rank(), distributed.get_world_size()
    return None


def this_process() -> ProcessInfo:
    environment = {name: int(os.environ.get(name, default)) for name, default in
                   (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1"))}
    rank, world = process_group() or (environment["RANK"], environment["WORLD_SIZE"])
    return ProcessInfo(rank=rank, world_size=world, local_rank=environment["LOCAL_RANK"],
                       local_world_size=environment["LOCAL_WORLD_SIZE"])


def is_main_process() -> bool:
    return this_process().is_main
