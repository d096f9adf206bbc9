"""Run nbval over notebooks under several CPU math-kernel paths; tabulate the drift.

Another processor makes the kernels of PyTorch (ATen), MKL and oneDNN take other code
paths (AVX-512 on one machine, AVX2 on the next), which sum in another order. Only one
machine is at hand, so this makes the paths differ on it, through the libraries' own
switches, and runs ``make test``'s own nbval under each::

    python -m tests.kernel_paths notebooks/03_flan_t5_xl_checkpointing.ipynb
    python -m tests.kernel_paths notebooks book/workshop.ipynb --paths avx2 default

For each notebook and path it prints whether nbval passed and the largest difference of
any compared printed number from the committed one, in units of its last printed digit
(``tests/nbval_numbers.py`` forgives one unit of a decimal, none of an integer). The
chapters record their results in ``notebooks/results/`` as they run; those files are put
back as they were, so the committed runs' records stay.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.nbval_numbers import DRIFT_REPORT_ENV

ROOT = Path(__file__).resolve().parent.parent
#: Where the chapters record their results as they run.
RESULTS = ROOT / "notebooks" / "results"

#: The kernel paths: environment variables each one sets. ``native`` is the machine's
#: own (AVX-512 or AVX2); ``avx2`` caps every library at AVX2, as on a CPU without
#: AVX-512; ``default`` takes ATen's unvectorized kernels and MKL's conditional
#: numerical reproducibility in its compatible (SSE2) mode.
PATHS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "MKL_CBWR": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    },
    "default": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_CBWR": "COMPATIBLE",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
    },
}


def run_path(
    name: str, notebooks: list[str], report: Path
) -> dict[str, bool]:
    """``make test``'s nbval (the Makefile's ``notebooks-checked``) over each of
    ``notebooks`` under the path ``name``; which notebooks passed."""
    env = {**os.environ, **PATHS[name], DRIFT_REPORT_ENV: str(report)}
    passed = {}
    for notebook in notebooks:
        result = subprocess.run(
            ["make", "--no-print-directory", "notebooks-checked"]
            + [f"NOTEBOOKS={notebook}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        passed[Path(notebook).name] = result.returncode == 0
        if result.returncode:
            print(result.stdout[-3000:], file=sys.stderr)
    return passed


def worst_drift(report: Path) -> dict[str, tuple[float, str, int]]:
    """Per notebook: the largest drift in units, its example and the reshaped cells."""
    worst: dict[str, tuple[float, str, int]] = {}
    for line in report.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        units, example, reshaped = worst.get(row["notebook"], (0.0, "", 0))
        if row["units"] > units:
            units, example = row["units"], row["example"]
        worst[row["notebook"]] = (units, example, reshaped + row["reshaped"])
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument(
        "--paths", nargs="+", choices=list(PATHS), default=list(PATHS)
    )
    args = parser.parse_args(argv)
    notebooks = [
        str(p)
        for n in args.notebooks
        for p in (
            sorted(Path(n).glob("*.ipynb")) if Path(n).is_dir() else [n]
        )
    ]
    rows = []
    recorded = {p: p.read_bytes() for p in RESULTS.rglob("*") if p.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.paths:
            report = Path(tmp) / f"{name}.jsonl"
            report.touch()
            start = time.perf_counter()
            passed = run_path(name, notebooks, report)
            seconds = time.perf_counter() - start
            drift = worst_drift(report)
            for notebook, ok in passed.items():
                units, example, reshaped = drift.get(notebook, (0.0, "", 0))
                rows.append((notebook, name, ok, units, example, reshaped))
            print(f"path {name}: {seconds:.0f} s", flush=True)
    for path, content in recorded.items():
        path.write_bytes(content)
    print(
        "| notebook | path | nbval | largest drift (last-digit units) "
        "| where | cells of another shape |"
    )
    print("|---|---|---|---|---|---|")
    for notebook, name, ok, units, example, reshaped in rows:
        print(
            f"| {notebook} | {name} | {'passed' if ok else 'FAILED'} "
            f"| {units:g} | {example} | {reshaped} |"
        )
    return 0 if all(row[2] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
