"""Distributed data-parallel setup for ``torchrun`` launches (env:// rendezvous).

``torchrun --nproc_per_node=G [--nnodes=N --node_rank=R --master_addr=... ] -m featherpose.cli train ...``
sets RANK / WORLD_SIZE / LOCAL_RANK; a plain ``featherpose train`` runs as a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files and prints progress."""
        return self.rank == 0


def env_info() -> DistInfo:
    """Rank, world size and local rank from the torchrun environment (1 process when unset)."""
    return DistInfo(
        int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
    )


def init_distributed(device: str) -> tuple[DistInfo, torch.device]:
    """Join the process group when launched by torchrun (NCCL on CUDA, gloo on CPU) and pick this
    process's device (``cuda:LOCAL_RANK`` on CUDA)."""
    info = env_info()
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but CUDA is not available")
        torch.cuda.set_device(info.local_rank)
        dev = torch.device("cuda", info.local_rank)
    else:
        dev = torch.device("cpu")
    if info.enabled and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", init_method="env://")
    return info, dev


def shutdown() -> None:
    """Leave the process group (no-op for single-process runs)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_mean(value: float, device: torch.device) -> float:
    """The mean of a scalar over all processes."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def any_flag(flag: bool, device: torch.device) -> bool:
    """True on every process if ``flag`` is true on any (e.g. a stop signal seen by one rank)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
