"""Several ranks training one model, on a CPU: forked processes in a gloo group, as that
many GPUs would be in an NCCL one, the model shared by FSDP or replicated by DDP."""

from __future__ import annotations

import contextlib

from ._fork import child_reply, fork_child
from ._process import Shard, measure_process
from ._types import NotEnoughMemoryError, StepMeasurement, StepSettings


def measure_ranks(settings: StepSettings) -> list[StepMeasurement]:
    """Fork ``settings.ranks`` processes that form a gloo group and train one model
    together under ``settings.strategy``; one measurement per rank and batch size."""
    import os
    import tempfile

    store_file = tempfile.NamedTemporaryFile(delete=False)
    store_file.close()
    os.unlink(store_file.name)  # the store creates it; it must not exist yet
    children = [
        fork_child(
            lambda rank=rank: _measure_rank(rank, settings, store_file.name)
        )
        for rank in range(settings.ranks)
    ]
    replies = [child_reply(child, reader) for child, reader in children]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(store_file.name)
    short = [r.skipped for r in replies if r.skipped is not None]
    if short:
        raise NotEnoughMemoryError(short[0])
    errors = [r.error for r in replies if r.error is not None]
    if errors:
        raise RuntimeError(f"a rank failed:\n{errors[0]}")
    return [
        StepMeasurement(**record) for r in replies for record in r.records
    ]


def _measure_rank(
    rank: int, settings: StepSettings, store_path: str
) -> list[StepMeasurement]:
    """Join the group as ``rank`` and measure this rank's share of the model."""
    import os

    import torch
    import torch.distributed as dist

    ranks = settings.ranks
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // ranks))
    store = dist.FileStore(store_path, ranks)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=ranks)
    try:
        return measure_process(settings, shard=_SHARDS[settings.strategy])
    finally:
        dist.destroy_process_group()


def _fsdp(model, optimizer):  # noqa: ANN001, ANN202
    """Shard ``model`` with FSDP as one unit, as Lightning's FSDP does without a wrap
    policy (AutoGluon's ``env.strategy="fsdp"``)."""
    from torch.distributed.fsdp import fully_shard

    fully_shard(model)
    return model, _rebuilt(optimizer, model)


def _fsdp_per_block(model, optimizer):  # noqa: ANN001, ANN202
    """Shard ``model`` with FSDP: one unit per encoder block, and one for the rest."""
    from torch.distributed.fsdp import fully_shard

    for block in model.model.encoder.block:
        fully_shard(block)
    fully_shard(model)
    return model, _rebuilt(optimizer, model)


def _ddp(model, optimizer):  # noqa: ANN001, ANN202
    """Replicate ``model`` with DistributedDataParallel (gradients averaged in buckets)."""
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model), optimizer


def _rebuilt(optimizer, model):  # noqa: ANN001, ANN202
    """AdamW with ``optimizer``'s settings, over ``model``'s (now sharded) parameters."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    group = optimizer.param_groups[0]
    return torch.optim.AdamW(
        trainable, lr=group["lr"], weight_decay=group["weight_decay"]
    )


#: How each of :data:`helpers.MULTI_GPU_STRATEGIES` distributes the built model.
_SHARDS: dict[str, Shard] = {
    "ddp": _ddp,
    "fsdp": _fsdp,
    "fsdp-per-block": _fsdp_per_block,
}
