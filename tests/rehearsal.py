"""``make rehearsal``: every chapter and the workshop guide, run in the ``full`` profile, offline.

Colab and GPU readers get the ``full`` profile; CI has neither a GPU nor the internet. This
rehearsal builds a stand-in mirror (:mod:`tests.stand_in_mirror`: generated reviews in the
real archive's layout, small random-init models under the real ids) and executes each
notebook in a fresh kernel with

* ``PEFT_BOOK_PROFILE=full`` and ``PEFT_BOOK_MIRROR=<the stand-in>``, so every cell takes
  the ``full`` branch and loads what the real downloads would give, through the same code;
* ``PEFT_BOOK_CPU_REHEARSAL=1``, the one switch that cuts GPU-sized work to CPU size
  (see :data:`helpers.profiles.REHEARSAL_ENV`); the summary says it was used;
* a fresh, empty book cache.

It fails on any cell that raises. Outputs are not compared (they differ from the committed
``tiny`` run). Only claims that need real pretrained weights are skipped, each by name: the
chapters print ``skipped (random stand-in weights): <claim>``, and the summary lists them.

The notebooks run one after the other, in the book's order: chapters read what earlier ones
recorded (2 reads 1's results, 5 reads 3's), and chapter 3's memory measurement needs the
machine to itself (a notebook beside it, each with two torch threads on two cores, made
both several times slower).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
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


def _execute(notebook: Path) -> dict:
    """Run ``notebook`` in a fresh kernel in place; return what the summary needs."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=900,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as failure:
        error = str(failure)[-4000:]
    finally:
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
    }


def _execute_in_subprocess(notebook: Path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.rehearsal",
            "--execute",
            str(notebook),
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
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def rehearse(work: Path) -> int:
    """Build the stand-in mirror and a copy of the book under ``work``, run it; return 0 if green."""
    from helpers.profiles import (
        REHEARSAL_BLOCKS,
        REHEARSAL_ENV,
        REHEARSAL_MAX_STEPS,
    )

    from tests.stand_in_mirror import build_stand_in_mirror

    start = time.perf_counter()
    if work.exists():
        shutil.rmtree(work)
    mirror = build_stand_in_mirror(work / "mirror")
    book = work / "book-copy"
    shutil.copytree(
        ROOT / "notebooks",
        book / "notebooks",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    (book / "book").mkdir()
    shutil.copy(
        ROOT / "book" / "workshop.ipynb", book / "book" / "workshop.ipynb"
    )
    env = {
        **os.environ,
        "PEFT_BOOK_PROFILE": "full",
        "PEFT_BOOK_MIRROR": str(mirror),
        "PEFT_BOOK_CACHE": str(work / "cache"),
        "HF_HOME": str(work / "cache" / "huggingface"),
        REHEARSAL_ENV: "1",
        "PYTHONHASHSEED": "0",
    }
    print(
        f"stand-in mirror built in {time.perf_counter() - start:.0f} s: {mirror}"
    )
    print(
        f"switch used: {REHEARSAL_ENV}=1 (every fit stops after {REHEARSAL_MAX_STEPS} optimizer steps; "
        f"chapters 5 and 6 measure FLAN-T5-base, -large, -XL and mDeBERTa-v3-base with {REHEARSAL_BLOCKS} blocks, "
        "chapter 6 FLAN-T5-XXL's blocks at batch 1)"
    )

    outcomes = []
    for path in NOTEBOOKS:
        result = _execute_in_subprocess(book / path, env)
        outcomes.append((path, result))
        print(
            f"  {path}: {result['executed']}/{result['cells']} cells, {result['seconds']:.0f} s"
            + (" FAILED" if result["error"] else ""),
            flush=True,
        )

    failed = [(path, result) for path, result in outcomes if result["error"]]
    print(
        "\nRehearsal of the full profile (PEFT_BOOK_PROFILE=full, stand-in mirror):"
    )
    for path, result in outcomes:
        print(
            f"  {Path(path).stem:34} {result['executed']:>3}/{result['cells']:<3} cells  {result['seconds']:5.0f} s"
        )
        for claim in result["skipped"]:
            print(f"      skipped claim: {claim}")
    print(
        f"  total {time.perf_counter() - start:.0f} s; executed copies in {book}"
    )
    for path, result in failed:
        print(f"\nFAILED: {path}\n{result['error']}", file=sys.stderr)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=ROOT / "_build" / "rehearsal"
    )
    parser.add_argument("--execute", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.execute:
        print(json.dumps(_execute(args.execute.resolve())))
        return
    sys.exit(rehearse(args.work.resolve()))


if __name__ == "__main__":
    main()
