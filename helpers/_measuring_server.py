"""Machinery of :func:`helpers.measure_training_steps`: a process that imports torch,
transformers and AutoGluon once, and forks one fresh child per measurement
(:func:`fork_child`, which also forks the ranks of a shared model).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

#: glibc keeps freed blocks below this size in its heap, where they can fragment and inflate
#: the measured peak by a gigabyte from run to run; a low threshold returns big buffers to the
#: system at once, so the measured peak is what the tensors need.
_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}

#: The server's environment. A process that initialised CUDA cannot fork children that use
#: it ("CUDA error: initialization error"); with PYTORCH_NVML_BASED_CUDA_CHECK=1,
#: ``torch.cuda.is_available()`` asks NVML instead of initialising CUDA (PyTorch's
#: "CUDA semantics" notes), so the server's imports leave CUDA to its children.
_SERVER_ENV = {**_ALLOCATOR_ENV, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"}


class NotEnoughMemoryError(RuntimeError):
    """A measurement needs more free memory than this machine has: it was not started."""


class _MeasuringServer:
    """A process that has imported torch, transformers and AutoGluon once (seconds), and forks
    a fresh child for each measurement: the child starts at once, from the server's clean
    heap with no model built, and gives all its memory back when it ends.

    Protocol, one JSON line each way: ``{"function": "module:name", "kwargs": {...}}`` in;
    out what the function returned, as a list of dicts (``as_dict()`` of each item),
    ``{"skipped": "<reason>"}`` where it raised :class:`NotEnoughMemoryError`, or
    ``{"error": "<traceback>"}``.
    """

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile

        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpers._measuring_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **_SERVER_ENV},
            start_new_session=True,
        )

    def request(
        self, function: str, kwargs: dict[str, Any], timeout_s: float
    ) -> list[dict] | dict:
        import select

        assert (
            self.process.stdin is not None
            and self.process.stdout is not None
        )
        self.process.stdin.write(
            json.dumps({"function": function, "kwargs": kwargs}) + "\n"
        )
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.close()
            self.log.seek(0)
            reason = (
                f"no result after {timeout_s:.0f} s"
                if not ready
                else "the measuring server ended"
            )
            return {"error": f"{reason}\n{self.log.read()[-3000:]}"}
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def fork_child(work: Callable[[], Iterable[Any]]) -> tuple[int, int]:
    """Run ``work`` in a forked child; return its pid and the read end of a pipe that will
    carry its answer (see :func:`child_answer`).

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
            answer = [r.as_dict() for r in work()]
        except NotEnoughMemoryError as short:
            answer = {"skipped": str(short)}
        except BaseException:  # noqa: BLE001  (everything goes back to the caller)
            answer = {"error": traceback.format_exc()}
        with os.fdopen(writer, "w") as out:
            out.write(json.dumps(answer))
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


def child_answer(child: int, reader: int) -> list[dict] | dict:
    """What the child of :func:`fork_child` returned, once it has ended: a list of dicts
    (``as_dict()`` of each item), ``{"skipped": "<reason>"}``, or
    ``{"error": "<traceback or reason>"}``."""
    with os.fdopen(reader) as result:
        text = result.read()
    _, status = os.waitpid(child, 0)
    if not text:
        return {
            "error": f"the measuring process ended without a result (wait status {status}: "
            "killed, or out of memory?)"
        }
    return json.loads(text)


def _call(request: dict) -> Iterable[Any]:
    import importlib

    module, name = request["function"].split(":")
    return getattr(importlib.import_module(module), name)(
        **request["kwargs"]
    )


def _serve() -> None:
    """The server's loop (``python -m helpers._measuring_server``): fork one child per request."""
    import helpers  # noqa: F401  (torchvision compatibility, quiet logs)

    import sys

    import autogluon.multimodal  # noqa: F401  (imported once, here, for every child)

    for line in sys.stdin:
        request = json.loads(line)
        answer = child_answer(*fork_child(lambda: _call(request)))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    # run as the package's module, not as __main__: the children raise the package's
    # NotEnoughMemoryError, which only the package's fork_child knows
    from helpers._measuring_server import _serve as serve

    serve()
