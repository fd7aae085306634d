"""torchrun / DDP plumbing: one process per device, set up from torchrun's environment variables.

With WORLD_SIZE unset or 1 nothing is initialised and the loop runs as a plain single process, so the
same command works on a laptop and under ``torchrun --nproc_per_node 8``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None = None) -> tuple[DistInfo, torch.device]:
    """Join the process group when WORLD_SIZE > 1 (nccl on CUDA, gloo on CPU); pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    want_cuda = torch.cuda.is_available() if device in (None, "auto") else str(device).startswith("cuda")
    if want_cuda:
        torch.cuda.set_device(local if world > 1 else (torch.device(device).index or 0 if device not in (None, "auto") else 0))
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    info = DistInfo(rank, world, local)
    if info.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", init_method="env://",
                                rank=rank, world_size=world)
    return info, dev


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


class DDP(DistributedDataParallel):
    """DistributedDataParallel that forwards unknown attributes to the wrapped model, so the diffusion
    code can keep calling ``model.embedding`` / ``model.logits`` / ``model.cfg`` on it."""

    def __getattr__(self, name: str):  # noqa: ANN204
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)
