"""Re-run chapters in place, as their committed outputs are made: ``make chapter``.

Each notebook runs in a fresh kernel with the ``tiny`` profile, in its own folder, the
way nbval runs it. The peak memory of the kernel and everything it starts (the measuring
server of chapters 3, 5 and 6 included) is sampled as the rehearsal samples it
(:class:`tests.rehearsal.TreeMemory`) and kept in the notebook's metadata,
``peft_book.tiny_peak_ram_gib``: the figure each chapter's Prerequisites state
(``tests/test_notebooks.py`` keeps them equal). Afterwards run ``make workshop``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.rehearsal import TreeMemory

#: The metadata key of a chapter's measured peak RAM.
PEAK_RAM_KEY = "tiny_peak_ram_gib"


def run(notebook: Path) -> float:
    """Execute ``notebook`` in place; return and record its peak memory (GiB)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=1800,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        memory = TreeMemory(pid)
        memory.start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        finally:
            memory.stop()
    peak = round(memory.peak_gib, 1)
    nb.metadata.setdefault("peft_book", {})[PEAK_RAM_KEY] = peak
    nbformat.write(nb, notebook)
    return peak


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: make chapter NB='notebooks/01_*.ipynb ...'")
        return 2
    os.environ.update(PEFT_BOOK_PROFILE="tiny", PYTHONHASHSEED="0")
    for path in paths:
        print(f"{path}: peak RAM {run(Path(path).resolve()):.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
