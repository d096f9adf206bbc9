"""``make rehearsal``: every chapter and the workshop guide, run in the ``full`` profile, offline, as in Colab.

Colab and GPU readers get the ``full`` profile; CI has neither a GPU nor the internet. This
rehearsal builds a stand-in mirror (:mod:`tests.stand_in_mirror`: generated reviews in the
real archive's layout, small random-init models under the real ids) and executes each
notebook in a fresh kernel with

* ``PEFT_BOOK_PROFILE=full`` and ``PEFT_BOOK_MIRROR=<the stand-in>``, so every cell takes
  the ``full`` branch and loads what the real downloads would give, through the same code;
* ``PEFT_BOOK_PROFILE_OVERRIDES``, three fields of the ``full`` profile that cut GPU-sized
  work to CPU size (:data:`CPU_CUTS`); the summary prints them.

It also rehearses Colab's conditions, where each chapter opens from its badge in a fresh
runtime, working folder ``/content``, without a checkout:

* **alone**: each notebook runs in its own empty working folder
  (``<work>/chapters/<name>/``, the notebook its only file) with its own empty book cache,
  so a chapter that reads what another one wrote (``results/``, a built checkpoint) fails
  here as it would in Colab. The workshop guide is no Colab page: it reads the book's
  committed chapters, so its folder gets a copy of the checkout's ``notebooks/``;
* **helpers from a wheel**: the package is built as Colab's ``pip install git+...`` builds
  it, from the files git tracks (``pip wheel --no-deps --no-build-isolation`` on a copy of
  ``git ls-files``), installed with ``pip install --no-deps --target <work>/site`` and put
  first on ``PYTHONPATH``. The checkout's ``helpers/`` is not importable (a
  ``sitecustomize`` beside it drops the venv's editable-install finder, and the working
  folder holds no ``helpers/``), so a module missing from the package, or one never
  ``git add``-ed, fails here. The kernel is asked where ``helpers`` comes from before the
  first cell, and which files every ``helpers`` module it imported came from after the
  last: anything outside ``<work>/site`` fails the rehearsal;
* **Colab's RAM**: the runner samples the kernel's process tree (the kernel, the
  measuring server, the processes it forks) every 0.2 s with psutil and records its peak:
  the sum of the processes' PSS (shared pages, such as a forked child's copy-on-write
  pages, counted once; summed RSS counts them in every process). The summary shows it
  next to Colab's 12.7 GiB (:data:`COLAB_RAM_GIB`) and fails a chapter that exceeds it
  where the CPU figure stands for Colab's (:data:`RAM_REPRESENTATIVE`).

It fails on any cell that raises. Outputs are not compared (they differ from the committed
``tiny`` run). Only claims that need real pretrained weights are skipped, each by name: the
chapters print ``skipped (random stand-in weights): <claim>``, and the summary lists them.

The notebooks run one after the other, never side by side: chapter 3's memory measurement
needs the machine to itself (a notebook beside it, each with two torch threads on two
cores, made both several times slower). ``--only 01 05`` rehearses a subset (names or
their beginnings). What the Colab conditions add to the time: the wheel (a few seconds), the
checkpoints a chapter builds that an earlier one had built into a shared cache (seconds);
the memory sampling takes a few milliseconds every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARK = "skipped (random stand-in weights): "
NOTEBOOKS = (
    *sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    ),
    "book/workshop.ipynb",
)
#: A Colab free-tier runtime's RAM as Colab shows it ("12.7 GB": ``MemTotal`` there is about
#: 13.3 million kB, so GiB). Colab's own processes take part of it: a peak within 1 GiB of
#: it is marked "tight".
#: The ``full`` profile's fields the rehearsal replaces, and nothing else: every ``fit``
#: stops after 4 optimizer steps (and validates after 4 batches), chapters 5 and 6
#: measure FLAN-T5-base, -large, -XL and mDeBERTa-v3-base with 2 of their blocks (the
#: planner predicts the same architectures), and chapter 6 measures FLAN-T5-XXL (blocks
#: and whole) at batch 1 only.
CPU_CUTS = {"max_steps": 4, "measured_blocks": 2, "xxl_batch_sizes": [1]}
COLAB_RAM_GIB = 12.7
TIGHT_GIB = 1.0
SAMPLE_INTERVAL_S = 0.2
#: Whose CPU peak RAM stands for Colab's, and why (chapters not named: no). Where it does,
#: the rehearsal fails when the peak exceeds :data:`COLAB_RAM_GIB`: the measured models are
#: real architectures, and here their tensors are on the CPU, where a T4 runtime holds them
#: on the GPU, so the figure is an upper bound of Colab's. Elsewhere the figure is shown,
#: not compared: the stand-in mirror's models are small random-init models, so a chapter
#: that fits them uses far less RAM here than with the real checkpoints in Colab, and a
#: chapter whose CPU measurements exceed the budget says nothing about a T4 runtime.
RAM_REPRESENTATIVE = {
    "05_will_it_fit": (
        "FLAN-T5-small's real architecture, and 2 real-size blocks of base, large and "
        "mDeBERTa-v3-base (the rehearsal switch)"
    ),
}
RAM_NOT_REPRESENTATIVE = {
    "03_flan_t5_xl_checkpointing": (
        "its four FLAN-T5-XL steps run on the CPU here (14 GiB at batch 8 without "
        "checkpointing), where a T4 runtime holds them on the GPU; its fit loads the "
        "2-block stand-in, not the 3B checkpoint (the setup page computes 7.4 GB)"
    ),
    "06_flan_t5_xxl_16_bit": (
        "it trains the whole FLAN-T5-XXL encoder on the CPU here (8.9 GiB of bf16 "
        "weights), where a T4 runtime builds it on the GPU"
    ),
    "01_multilingual_baseline": "fits the 2-block stand-in mDeBERTa",
    "02_ia3_bias": "fits the 2-block stand-in mDeBERTa",
    "04_peft_shootout": "fits the 2-block stand-in mDeBERTa",
    "workshop": "no Colab page; reads the committed chapters",
}

#: Run in the kernel (in a namespace of its own, so that the notebook's globals stay as they
#: would be) before the first cell: where ``helpers`` would be imported from, without
#: importing it.
_START_PROBE = """
import importlib.util, json, os
spec = importlib.util.find_spec("helpers")
print(json.dumps({"pid": os.getpid(), "helpers": spec and spec.origin}))
"""
#: ... and after the last: the file of every ``helpers`` module the run imported.
_END_PROBE = """
import json, sys
print(json.dumps({
    name: getattr(module, "__file__", None)
    for name, module in sorted(sys.modules.items())
    if name == "helpers" or name.startswith("helpers.")
}))
"""
#: ``sitecustomize`` of the kernel: the venv's editable install of ``helpers`` (``pip
#: install -e .``) adds an import finder that maps ``helpers`` to the checkout and would
#: find there a module the wheel lacks. Colab has no such finder; drop it.
_SITECUSTOMIZE = '''"""Written by tests.rehearsal: no editable-install finder for helpers."""
import sys

sys.meta_path[:] = [
    finder
    for finder in sys.meta_path
    if "helpers" not in getattr(finder, "MAPPING", {})
    and "helpers" not in getattr(sys.modules.get(
        getattr(finder, "__module__", "")), "MAPPING", {})
]
'''


class TreeMemory(threading.Thread):
    """Peak memory of a process and all its descendants, sampled every ``interval`` s.

    ``peak_gib``: the largest sum of the processes' PSS (a page shared by several counts
    once, shared out); ``peak_rss_gib``: the largest sum of their RSS, for comparison.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_gib = self.peak_rss_gib = 0.0
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        pss = rss = 0
        for process in processes:
            try:
                info = process.memory_full_info()
            except psutil.Error:  # ended meanwhile, or a zombie
                continue
            pss, rss = pss + info.pss, rss + info.rss
        self.peak_gib = max(self.peak_gib, pss / 2**30)
        self.peak_rss_gib = max(self.peak_rss_gib, rss / 2**30)
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def _probe(client, code: str) -> dict:
    """Run ``code`` in the kernel, out of the notebook's namespace and history."""
    import nbformat

    cell = nbformat.v4.new_code_cell(
        f"exec(compile({code!r}, '<rehearsal probe>', 'exec'), {{}})"
    )
    client.nb.cells.append(cell)
    try:
        client.execute_cell(
            cell, len(client.nb.cells) - 1, store_history=False
        )
    finally:
        client.nb.cells.pop()
    text = "".join(
        output.get("text", "")
        for output in cell.outputs
        if output.get("name") == "stdout"
    )
    return json.loads(text.strip().splitlines()[-1])


def _outside(files: dict[str, str | None], site: Path) -> list[str]:
    """The ``name: file`` of every module whose file is not under ``site``."""
    return [
        f"{name}: {file}"
        for name, file in files.items()
        if file is None or site not in Path(file).resolve().parents
    ]


def _execute(notebook: Path, site: Path) -> dict:
    """Run ``notebook`` in a fresh kernel in place; return what the summary needs."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=900,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    error = None
    memory = None
    try:
        with client.setup_kernel():
            where = _probe(client, _START_PROBE)
            # the notebook's cells count from 1, as without the probe
            client.code_cells_executed = 0
            memory = TreeMemory(where["pid"])
            memory.start()
            if where["helpers"] is None or _outside(
                {"helpers": where["helpers"]}, site
            ):
                error = (
                    f"the kernel would import helpers from {where['helpers']}, "
                    f"not from the wheel installed in {site}"
                )
            kernel_alive = True
            try:
                for index, cell in enumerate(nb.cells):
                    if error:
                        break
                    client.execute_cell(
                        cell,
                        index,
                        execution_count=client.code_cells_executed + 1,
                    )
            except CellExecutionError as failure:
                error = str(failure)[-4000:]
            except (CellTimeoutError, DeadKernelError) as failure:
                # killed (out of memory?) or still busy: no probe after it
                kernel_alive = False
                error = f"{type(failure).__name__}: {failure}"[-4000:]
            if kernel_alive:
                strays = _outside(_probe(client, _END_PROBE), site)
                if strays and not error:
                    error = (
                        f"helpers modules came from outside {site}:\n  "
                        + "\n  ".join(strays)
                    )
    finally:
        if memory is not None:
            memory.stop()
        nbformat.write(nb, notebook)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    executed = [
        cell for cell in code if cell.get("execution_count") is not None
    ]
    skipped = [
        line.removeprefix(SKIP_MARK)
        for cell in code
        for output in cell.get("outputs", [])
        for line in output.get("text", "").splitlines()
        if line.startswith(SKIP_MARK)
    ]
    return {
        "cells": len(code),
        "executed": len(executed),
        "skipped": skipped,
        "error": error,
        "seconds": time.perf_counter() - start,
        "peak_gib": memory.peak_gib if memory else None,
        "peak_rss_gib": memory.peak_rss_gib if memory else None,
        "memory_samples": memory.samples if memory else 0,
    }


def _execute_in_subprocess(
    notebook: Path, site: Path, env: dict[str, str]
) -> dict:
    done = subprocess.run(
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
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return {
            "cells": 0,
            "executed": 0,
            "skipped": [],
            "error": done.stderr[-4000:],
            "seconds": 0.0,
            "peak_gib": None,
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def _tracked_files() -> list[str]:
    """What ``pip install git+<repository>`` gets: the files git tracks (all, outside git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return [
            str(path.relative_to(ROOT))
            for top in ("pyproject.toml", "README.md", "helpers")
            for path in [ROOT / top, *(ROOT / top).rglob("*")]
            if path.is_file() and "__pycache__" not in path.parts
        ]
    return [name for name in listed.split("\0") if name]


def install_helpers_wheel(work: Path) -> Path:
    """Build ``helpers`` as a wheel from the tracked files, install it into ``work/site``.

    Returns the folder to put first on ``PYTHONPATH``; beside it, ``work/site-shim`` holds
    the ``sitecustomize`` that drops the editable install's finder.
    """
    site, shim, wheels = work / "site", work / "site-shim", work / "wheel"
    with tempfile.TemporaryDirectory(dir=work) as source:
        for name in _tracked_files():
            if (ROOT / name).is_file() and not name.startswith(
                ("notebooks/", "book/")
            ):
                (Path(source) / name).parent.mkdir(
                    parents=True, exist_ok=True
                )
                shutil.copy2(ROOT / name, Path(source) / name)
        pip = [
            sys.executable,
            "-m",
            "pip",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run(
            [
                *pip,
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(wheels),
                source,
            ],
            check=True,
        )
    (wheel,) = wheels.glob("peft_book_helpers-*.whl")
    subprocess.run(
        [
            *pip,
            "install",
            "--no-deps",
            "--no-compile",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    return site


def _chapter_folder(chapters: Path, path: str) -> Path:
    """An empty working folder with only the notebook (the workshop guide: beside the book's chapters)."""
    stem = Path(path).stem
    if path.startswith("book/"):
        folder = chapters / stem / "book"
        shutil.copytree(
            ROOT / "notebooks",
            chapters / stem / "notebooks",
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "scratch"),
        )
    else:
        folder = chapters / stem
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / path, folder / Path(path).name)
    return folder / Path(path).name


def _ram_column(stem: str, result: dict) -> tuple[str, bool]:
    """The summary's RAM text for a chapter, and whether it is over Colab's budget."""
    peak = result.get("peak_gib")
    if peak is None:
        return "  peak RAM    n/a", False
    text = f"  peak RAM {peak:5.2f} GiB"
    if stem not in RAM_REPRESENTATIVE:
        return text + "  (not compared: stand-in models)", False
    if peak > COLAB_RAM_GIB:
        return text + f"  OVER Colab's {COLAB_RAM_GIB} GiB", True
    tight = " (tight)" if peak > COLAB_RAM_GIB - TIGHT_GIB else ""
    return text + f"  of Colab's {COLAB_RAM_GIB} GiB{tight}", False


def select(only: list[str] | None) -> list[str]:
    """The notebooks whose names (or paths) begin with one of ``only``; all without it."""
    if not only:
        return list(NOTEBOOKS)
    chosen = [
        path
        for path in NOTEBOOKS
        if any(
            Path(path).stem.startswith(name) or path.startswith(name)
            for name in only
        )
    ]
    unknown = [
        name
        for name in only
        if not any(
            Path(path).stem.startswith(name) or path.startswith(name)
            for path in NOTEBOOKS
        )
    ]
    if unknown:
        raise SystemExit(
            f"--only: no notebook named {', '.join(unknown)}; choose from "
            + ", ".join(Path(path).stem for path in NOTEBOOKS)
        )
    return chosen


def rehearse(work: Path, only: list[str] | None = None) -> int:
    """Build the stand-in mirror, the helpers wheel and one folder per notebook under ``work``, run them; return 0 if green.

    ``work`` is emptied first if the book made it (it holds a ``.peft-book-owned`` file);
    one that holds anything else is refused (:func:`helpers.cache.owned_folder`).
    """
    from helpers.cache import owned_folder
    from helpers.profiles import OVERRIDES_ENV

    from tests.stand_in_mirror import build_stand_in_mirror

    notebooks = select(only)
    start = time.perf_counter()
    work = owned_folder(work, empty=True)
    mirror = build_stand_in_mirror(work / "mirror")
    print(
        f"stand-in mirror built in {time.perf_counter() - start:.0f} s: {mirror}"
    )
    wheel_start = time.perf_counter()
    site = install_helpers_wheel(work)
    print(
        f"helpers built as a wheel from the tracked files and installed in "
        f"{time.perf_counter() - wheel_start:.0f} s: {site}"
    )
    print(
        f"cut to CPU size: {OVERRIDES_ENV}={json.dumps(CPU_CUTS)} (every fit stops after "
        f"{CPU_CUTS['max_steps']} optimizer steps; chapters 5 and 6 measure FLAN-T5-base, -large, "
        f"-XL and mDeBERTa-v3-base with {CPU_CUTS['measured_blocks']} blocks, "
        "chapter 6 FLAN-T5-XXL, blocks and whole, at batch 1)"
    )

    chapters = work / "chapters"
    outcomes = []
    for path in notebooks:
        stem = Path(path).stem
        cache = work / "caches" / stem
        env = {
            **os.environ,
            "PEFT_BOOK_PROFILE": "full",
            "PEFT_BOOK_MIRROR": str(mirror),
            "PEFT_BOOK_CACHE": str(cache),
            "HF_HOME": str(cache / "huggingface"),
            OVERRIDES_ENV: json.dumps(CPU_CUTS),
            "PYTHONHASHSEED": "0",
            # the wheel first, then the shim; nothing of the checkout
            "PYTHONPATH": os.pathsep.join(
                [str(site), str(work / "site-shim")]
            ),
        }
        result = _execute_in_subprocess(
            _chapter_folder(chapters, path), site, env
        )
        outcomes.append((path, result))
        print(
            f"  {path}: {result['executed']}/{result['cells']} cells, {result['seconds']:.0f} s"
            + (" FAILED" if result["error"] else ""),
            flush=True,
        )

    print(
        "\nRehearsal of the full profile (PEFT_BOOK_PROFILE=full, stand-in mirror; "
        "each notebook alone in an empty folder, helpers from a wheel):"
    )
    failed = []
    for path, result in outcomes:
        stem = Path(path).stem
        ram, over = _ram_column(stem, result)
        print(
            f"  {stem:34} {result['executed']:>3}/{result['cells']:<3} cells  {result['seconds']:5.0f} s"
            + ram
        )
        for claim in result["skipped"]:
            print(f"      skipped claim: {claim}")
        if over and not result["error"]:
            result["error"] = (
                f"the kernel and its processes peaked at {result['peak_gib']:.2f} GiB of RAM, "
                f"over Colab's {COLAB_RAM_GIB} GiB ({RAM_REPRESENTATIVE[stem]})"
            )
        if result["error"]:
            failed.append((path, result))
    print(
        "  peak RAM: the kernel and every process it started (PSS, sampled every "
        f"{SAMPLE_INTERVAL_S} s). Compared with Colab's {COLAB_RAM_GIB} GiB only where "
        "the CPU figure stands for Colab's:"
    )
    for stem, why in RAM_REPRESENTATIVE.items():
        print(f"      {stem}: {why}")
    print(
        "    not compared: "
        + "; ".join(
            f"{stem} ({why})" for stem, why in RAM_NOT_REPRESENTATIVE.items()
        )
    )
    if only:
        print(
            f"  only {', '.join(Path(p).stem for p in notebooks)} (--only)"
        )
    print(
        f"  total {time.perf_counter() - start:.0f} s; executed copies in {chapters}"
    )
    for path, result in failed:
        print(f"\nFAILED: {path}\n{result['error']}", file=sys.stderr)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=ROOT / "_build" / "rehearsal"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="rehearse only these notebooks (names or their beginnings: 01, 05_will_it_fit, workshop)",
    )
    parser.add_argument("--execute", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--site", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.execute:
        result = _execute(args.execute.resolve(), args.site.resolve())
        print(json.dumps(result))
        return
    sys.exit(rehearse(args.work.resolve(), args.only))


if __name__ == "__main__":
    main()
