"""DistributedDataParallel when launched by ``torchrun``; a no-op single process otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: rank, world size and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether the environment of ``torchrun`` (WORLD_SIZE > 1) is present."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """Whether this process is rank 0 of a torchrun launch (or not launched by torchrun at all)."""
    return int(os.environ.get("RANK", "0")) == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (NCCL on CUDA, gloo on CPU).

    Args:
        device: The device asked for; on CUDA each rank takes ``cuda:LOCAL_RANK``.
    """
    if not launched_by_torchrun():
        return DistInfo(device=device)
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=device)


def shutdown(info: DistInfo) -> None:
    """Leave the process group."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def reduce_sums(info: DistInfo, values: list[float]) -> list[float]:
    """Sum a list of numbers over all ranks."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.to(info.device)
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_objects(info: DistInfo, items: list[Any]) -> list[Any]:
    """Concatenate each rank's list (picklable objects) on every rank."""
    if not info.enabled:
        return list(items)
    out: list[list[Any]] = [None] * info.world_size  # type: ignore[list-item]
    dist.all_gather_object(out, items)
    return [x for part in out for x in part]


def broadcast_object(info: DistInfo, value: Any) -> Any:
    """Rank 0's value on every rank."""
    if not info.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
