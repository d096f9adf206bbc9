"""The measuring server, seen from the caller: a process (``python -m helpers._measure``,
whose loop is ``__main__.py``) that imported torch, transformers and AutoGluon once, and
forks a fresh child for each measurement."""

from __future__ import annotations

import os
import signal

from ._types import Reply, StepSettings

#: glibc keeps freed blocks below this size in its heap, where they can fragment and inflate
#: the measured peak by a gigabyte from run to run; a low threshold returns big buffers to the
#: system at once, so the measured peak is what the tensors need.
_ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}

#: The server's environment. A process that initialised CUDA cannot fork children that use
#: it ("CUDA error: initialization error"); with PYTORCH_NVML_BASED_CUDA_CHECK=1,
#: ``torch.cuda.is_available()`` asks NVML instead of initialising CUDA (PyTorch's
#: "CUDA semantics" notes), so the server's imports leave CUDA to its children.
_SERVER_ENV = {**_ALLOCATOR_ENV, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"}


class _MeasuringServer:
    """A process that has imported torch, transformers and AutoGluon once (seconds), and forks
    a fresh child for each measurement: the child starts at once, from the server's clean
    heap with no model built, and gives all its memory back when it ends.

    Protocol, one JSON line each way: a :class:`StepSettings` in, a :class:`Reply` out.
    """

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile

        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            # this package run as a module: its __main__.py is the server's loop
            [sys.executable, "-m", "helpers._measure"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **_SERVER_ENV},
            start_new_session=True,
        )

    def request(self, settings: StepSettings, timeout_s: float) -> Reply:
        import select

        assert (
            self.process.stdin is not None
            and self.process.stdout is not None
        )
        self.process.stdin.write(settings.to_json() + "\n")
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
            return Reply(error=f"{reason}\n{self.log.read()[-3000:]}")
        return Reply.from_json(line)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


_server: _MeasuringServer | None = None  # started on first use


def measure(settings: StepSettings, timeout_s: float) -> Reply:
    """Measure ``settings`` in a fresh child of the measuring server (started on first
    use, or again after it ended); a failure or a wait over ``timeout_s`` is a reply's
    ``error``."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = _MeasuringServer()
    return _server.request(settings, timeout_s)


def stop_server() -> None:
    """End the measuring server, if one runs, and give its memory back."""
    global _server
    if _server is not None:
        _server.close()
        _server = None
