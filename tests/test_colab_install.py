"""Colab's install cell: the pins of the ``colab`` extra and the restart check.

Every chapter starts with the same short cell. In Colab it installs
``peft-book-helpers[colab]`` from the repository named in ``_config.yml``, the
extra pinning the versions of ``constraints.txt`` (but not torch: Colab keeps
its own), then runs ``peft_book_colab``, which says whether the runtime needs
a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import yaml

import peft_book_colab

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
MAX_LINES = 7


def _name(requirement: str) -> str:
    return requirement.split("==")[0].strip().lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    return {
        _name(line): line.split("==")[1].strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }


def _mismatches(extra: list[str], constraints: dict[str, str]) -> list[str]:
    """The pins of ``extra`` that are not exact or differ from ``constraints``."""
    wrong = []
    for requirement in extra:
        name, exact, version = requirement.partition("==")
        if not exact or constraints.get(_name(name)) != version.strip():
            wrong.append(
                f"{requirement} (constraints.txt: {constraints.get(_name(name))})"
            )
    return wrong


def _install_cells() -> dict[str, nbformat.NotebookNode]:
    return {
        path.name: nbformat.read(path, as_version=4).cells[1]
        for path in CHAPTERS
    }


def test_colab_extra_pins_equal_constraints_and_leave_torch_alone():
    extra = PYPROJECT["project"]["optional-dependencies"]["colab"]
    constraints = _constraints()
    assert _mismatches(extra, constraints) == []
    names = {_name(requirement) for requirement in extra}
    assert {"autogluon.multimodal", "transformers", "timm"} <= names
    assert "torch" not in names, "Colab keeps its own torch (a CUDA build)"
    # and the comparison can fail
    wrong = [*extra[:-1], extra[-1].split("==")[0] + "==0.0.1"]
    assert len(_mismatches(wrong, constraints)) == 1
    assert _mismatches(["transformers>=5"], constraints)


def test_the_restart_check_is_a_module_of_the_distribution():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert "peft_book_colab" in setuptools["py-modules"]
    assert Path(peft_book_colab.__file__).parent == ROOT


def test_every_chapter_has_the_same_short_install_cell():
    cells = _install_cells()
    assert len(cells) >= 3
    sources = {cell.source for cell in cells.values()}
    assert len(sources) == 1, "every chapter installs the same way"
    (source,) = sources
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"][
        "url"
    ].rstrip("/")
    assert len(source.splitlines()) <= MAX_LINES, source
    assert '"google.colab" in sys.modules' in source
    assert f'BOOK = "{url}"' in source
    assert (
        '%pip install --quiet "peft-book-helpers[colab] @ git+{BOOK}"'
        in (source)
    )
    assert "%run -m peft_book_colab" in source
    assert "==" not in source, "pins belong in pyproject.toml's colab extra"
    for name, cell in cells.items():
        assert cell.cell_type == "code", name
        # shown on every page, and run by nbval: outside Colab it does nothing
        assert not cell.metadata.get("tags"), name
        assert cell.outputs == [], name


def _fake_distribution(site: Path, name: str, files: list[str]) -> Path:
    """A distribution's metadata folder, as pip leaves it, in ``site``."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    )
    record = [*files, f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return info


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Two fake distributions sharing a namespace package ``fakens``:
    ``fake-new`` installed just now (its folder a minute in the future, newer
    than anything else on ``sys.path``), ``fake-old`` a day ago, and some of
    their modules imported."""
    now = time.time()
    new = _fake_distribution(
        tmp_path,
        "fake-new",
        [
            "fakenew/__init__.py,sha256=x,1",
            "fakenew/sub.py,,",
            "fakenew/_ext.cpython-313-x86_64-linux-gnu.so,,",
            "fakenew/data.json,,",
            "fakens/part_new.py,,",
            "../../bin/fakenew-cli,,",
        ],
    )
    old = _fake_distribution(
        tmp_path,
        "fake-old",
        ["fakeold/__init__.py,,", "fakens/part_old.py,,"],
    )
    os.utime(new, (now + 60, now + 60))
    os.utime(old, (now - 86400, now - 86400))
    for module in ("fakenew", "fakenew._ext", "fakeold", "fakens"):
        monkeypatch.setitem(sys.modules, module, type(sys)(module))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path, now


def test_stale_imports_names_imported_modules_of_changed_distributions(site):
    path, now = site
    # the kernel started before the install: fake-new replaced what it had
    assert peft_book_colab.stale_imports(now - 3600, [str(path)]) == {
        "fake-new": ["fakenew", "fakenew._ext"]
    }
    # ... and a module of the shared namespace counts once it is imported
    sys.modules["fakens.part_new"] = type(sys)("fakens.part_new")
    try:
        stale = peft_book_colab.stale_imports(now - 3600, [str(path)])
    finally:
        del sys.modules["fakens.part_new"]
    assert stale["fake-new"] == [
        "fakenew",
        "fakenew._ext",
        "fakens.part_new",
    ]
    # both installed before the kernel started (after a restart): nothing
    assert peft_book_colab.stale_imports(now + 120, [str(path)]) == {}
    # an older kernel also saw fake-old change, but imported none of its files
    assert peft_book_colab.stale_imports(now - 2 * 86400, [str(path)]) == {
        "fake-new": ["fakenew", "fakenew._ext"],
        "fake-old": ["fakeold"],
    }


def test_restart_notice_says_what_to_do(site):
    _, now = site
    notice = peft_book_colab.restart_notice(now)
    assert notice.startswith("Restart needed: this runtime had imported")
    assert "fake-new" in notice and "fake-old" not in notice
    assert "Runtime > Restart session" in notice
    assert peft_book_colab.restart_notice(now + 120) == (
        "Installed; no restart needed."
    )


def test_process_start_time_is_this_process():
    start = peft_book_colab.process_start_time()
    assert start < time.time()
    # psutil rounds the boot time to whole seconds
    assert abs(start - psutil.Process().create_time()) < 2


def test_the_check_imports_nothing_it_checks():
    """A fresh Python that runs the check has loaded none of the book's heavy
    packages, and, with nothing installed since it started, needs no
    restart."""
    heavy = (
        "torch",
        "transformers",
        "autogluon",
        "helpers",
        "numpy",
        "psutil",
    )
    code = (
        "import sys, runpy\n"
        "runpy.run_module('peft_book_colab', run_name='__main__')\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "Installed; no restart needed.",
        "[]",
    ]
