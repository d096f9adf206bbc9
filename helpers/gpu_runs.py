"""The book's GPU evidence: records of ``make gpu-check`` runs on CUDA machines, shipped
with the package, and today's planner held against them.

Each record is the JSON that ``python -m tests.gpu_check`` wrote on a lent GPU machine
(``helpers/data/gpu_runs/<date>-<card>/``, with a README saying how it was made): the
training steps it measured with :func:`helpers.measure_training_steps` on CUDA, the
allocator's peak of each (``torch.cuda.max_memory_allocated``), the card and the
versions. :meth:`GPURun.planner_table` recomputes :func:`helpers.estimate_training_memory`
for every measured configuration, so a change to the planner is checked against real
GPUs (``tests/test_gpu_runs.py``) and the chapters show the result, not typed numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from ._configs import MDEBERTA_V3_BASE_NAME, published_config
from .gpus import closest_known_gpu
from .planner import estimate_training_memory

if TYPE_CHECKING:
    import pandas as pd

#: Columns of :meth:`GPURun.planner_table`.
TABLE_COLUMNS: tuple[str, ...] = (
    "chapter", "model", "method", "checkpointing", "precision", "batch",
    "predicted", "measured", "error",
)  # fmt: skip


@dataclass(frozen=True)
class GPURun:
    """One ``make gpu-check`` run on a CUDA machine."""

    #: the record's folder, ``<date>-<card>``
    name: str
    #: the card, as CUDA names it ("NVIDIA H200")
    card: str
    #: the card the planner is told (:func:`helpers.gpus.closest_known_gpu`)
    planner_gpu: str | None
    #: the day it ran, ``YYYY-MM-DD``
    date: str
    #: the versions it ran with (torch, transformers, AutoGluon, Lightning)
    versions: dict[str, str]
    #: the measured training steps, as the JSON holds them
    steps: tuple[dict, ...]

    def planner_table(self, chapter: str | None = None) -> pd.DataFrame:
        """Every measured step of ``chapter`` ("ch3", "ch5", "ch6"; ``None``: all) next
        to today's planner: ``predicted`` and ``measured`` in GiB, ``error`` as a
        fraction (predicted / measured - 1).

        Raises
        ------
        ValueError
            For a chapter the record has no steps of.
        """
        import pandas as pd

        chapters = sorted({step["source"] for step in self.steps})
        if chapter is not None and chapter not in chapters:
            raise ValueError(
                f"no steps of chapter {chapter!r} in {self.name}; its chapters: "
                f"{', '.join(chapters)}, or None for all"
            )
        rows = [
            _compare(step, self.planner_gpu)
            for step in self.steps
            if chapter is None or step["source"] == chapter
        ]
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def describe(self) -> str:
        """One line: the card, the date and the versions, for a table's caption."""
        v = self.versions
        return (
            f"{self.card}, {self.date}: torch {v['torch']}, transformers "
            f"{v['transformers']}, AutoGluon {v['autogluon.multimodal']}"
        )


def gpu_runs() -> list[GPURun]:
    """Every GPU record shipped with the book that measured training steps, oldest
    first."""
    root = resources.files("helpers") / "data" / "gpu_runs"
    runs = []
    for folder in sorted(root.iterdir(), key=lambda f: f.name):
        for record in sorted(folder.iterdir(), key=lambda f: f.name):
            if record.name.startswith("gpu_check") and record.name.endswith(
                ".json"
            ):
                run = _load(folder.name, json.loads(record.read_text()))
                if run.steps:
                    runs.append(run)
    return runs


def _load(name: str, data: dict) -> GPURun:
    device = data["device"]
    capability = tuple(device["compute_capability"])
    gpu, _ = closest_known_gpu(
        device["name"], device["total_memory_bytes"], capability
    )
    versions = {
        package: data["versions"][package]["here"]
        for package in (
            "torch", "transformers", "autogluon.multimodal", "lightning",
        )
    }  # fmt: skip
    return GPURun(
        name=name,
        card=device["name"],
        planner_gpu=gpu,
        date=data["started"][:10],
        versions=versions,
        steps=tuple(s for s in data["steps"] if s["device"] == "cuda"),
    )


def _checkpoint(step: dict) -> str:
    """The model id a step measured: recorded since 2026-12-06, else read from the
    label of the first record's plan ("flan-t5-base", "xxl-2-blocks")."""
    if "checkpoint" in step:
        return step["checkpoint"]
    label = step["model"]
    if label == "mdeberta-v3-base":
        return MDEBERTA_V3_BASE_NAME
    if label.startswith("xxl"):
        return "google/flan-t5-xxl"
    return f"google/{label}"


def _compare(step: dict, gpu: str | None) -> dict:
    config = published_config(_checkpoint(step), step["blocks"])
    predicted = estimate_training_memory(
        config,
        peft=step["peft"],
        gradient_checkpointing=step["gradient_checkpointing"],
        batch_size=step["batch_size"],
        seq_len=step["seq_len"],
        precision=step["precision"],
        device="cuda",
        gpu=gpu,
        # records before the field existed were measured zeroing the gradients
        gradients_kept=step.get("gradients_kept", False),
    ).total_gib
    measured = step["peak_gib"]
    return {
        "chapter": step["source"],
        "model": step["model"],
        "method": step["peft"],
        "checkpointing": "yes" if step["gradient_checkpointing"] else "no",
        "precision": step["precision"],
        "batch": step["batch_size"],
        "predicted": predicted,
        "measured": measured,
        "error": predicted / measured - 1,
    }
