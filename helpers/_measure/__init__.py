"""Measuring training steps: the machinery behind :func:`helpers.measure_training_steps`.

How a measurement flows:

1. :func:`helpers.measure_training_steps` puts its arguments in one :class:`StepSettings`
   and hands it to :func:`measure`.
2. :func:`measure` sends it, as a JSON line, to the measuring server (:mod:`._server`):
   ``python -m helpers._measure``, started on first use, which imported torch,
   transformers and AutoGluon once.
3. The server (``__main__.py``) forks a fresh child per request (:mod:`._fork`), which
   runs :func:`measure_here`: it builds the model with stand-in weights (:mod:`._model`)
   and times its steps under :class:`helpers.MemoryMonitor` (:mod:`._process`); with
   ``ranks`` > 1 it forks that many ranks, which share one model (:mod:`._ranks`).
4. The child's :class:`Reply` (its measurements, why it skipped, or its traceback)
   comes back to the server through a pipe, and to the caller as a JSON line.

:class:`helpers.MemoryMonitor`, which :mod:`._process` uses, lives above this package, in
:mod:`helpers.memory`, with its tensor counter for a CPU (:mod:`helpers._tensor_tracker`).
"""

from __future__ import annotations

from ._fork import child_reply, fork_child
from ._model import build_autogluon_text_model
from ._process import measure_process
from ._ranks import measure_ranks
from ._server import measure, stop_server
from ._types import (
    NotEnoughMemoryError,
    Reply,
    StepMeasurement,
    StepSettings,
)

__all__ = [
    "NotEnoughMemoryError",
    "Reply",
    "StepMeasurement",
    "StepSettings",
    "build_autogluon_text_model",
    "child_reply",
    "fork_child",
    "measure",
    "measure_here",
    "stop_server",
]


def measure_here(settings: StepSettings) -> list[StepMeasurement]:
    """Measure ``settings`` in this process, or with ``ranks`` > 1 in that many forked
    ones; one measurement per rank and batch size.

    Raises
    ------
    ValueError
        For a precision it cannot run (mixed precision needs a GPU's autocast), fewer
        than one rank, or an unknown strategy.
    NotEnoughMemoryError
        Where less than ``settings.needs_gib`` is free.
    """
    settings.check()
    if settings.ranks == 1:
        return measure_process(settings)
    return measure_ranks(settings)
