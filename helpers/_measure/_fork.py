"""A fresh forked child for each piece of measuring work: it starts from its parent's
clean heap, with the libraries imported, and gives all its memory back when it ends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol

from ._types import NotEnoughMemoryError, Reply


class Record(Protocol):
    """A result a child sends back: anything with ``as_dict()``."""

    def as_dict(self) -> dict: ...


def fork_child(work: Callable[[], Iterable[Record]]) -> tuple[int, int]:
    """Run ``work`` in a forked child; return its pid and the read end of a pipe that will
    carry its :class:`Reply` (see :func:`child_reply`).

    Raises
    ------
    RuntimeError
        If this process has initialised CUDA: its child could not use it.
    """
    import traceback

    _refuse_after_cuda()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the measuring child
        os.close(reader)
        try:
            reply = Reply(records=tuple(r.as_dict() for r in work()))
        except NotEnoughMemoryError as short:
            reply = Reply(skipped=str(short))
        except BaseException:  # noqa: BLE001  (everything goes back to the caller)
            reply = Reply(error=traceback.format_exc())
        with os.fdopen(writer, "w") as out:
            out.write(reply.to_json())
        os._exit(0)
    os.close(writer)
    return child, reader


def _refuse_after_cuda() -> None:
    """Raise if this process initialised CUDA, before it forks a child that would fail."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError(
            "this process has initialised CUDA, so a forked child cannot use it "
            "('CUDA error: initialization error'); measure through "
            "helpers.measure_training_steps, whose server sets "
            "PYTORCH_NVML_BASED_CUDA_CHECK=1 and leaves CUDA to its children"
        )


def child_reply(child: int, reader: int) -> Reply:
    """The :class:`Reply` of the child of :func:`fork_child`, once it has ended."""
    with os.fdopen(reader) as result:
        text = result.read()
    _, status = os.waitpid(child, 0)
    if not text:
        return Reply(
            error=f"the measuring process ended without a result (wait status {status}: "
            "killed, or out of memory?)"
        )
    return Reply.from_json(text)
