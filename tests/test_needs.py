"""What each chapter needs in Colab: one table, equal to the planner and the pages."""

from __future__ import annotations

import helpers
from helpers.needs import CHAPTER_NEEDS, COLAB_RAM_GB, GPUTooSmallError

import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
FULL, TINY = helpers.get_profile("full"), helpers.get_profile("tiny")
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: The largest step of each chapter's full run, as the planner takes it.
_MDEBERTA_FULL = dict(
    peft="full", gradient_checkpointing=False, batch_size=4, seq_len=512
)
_XL_B8 = dict(
    peft="ia3_bias", gradient_checkpointing=False, batch_size=8, seq_len=128
)
LARGEST_STEPS = {
    "01_multilingual_baseline": ("mdeberta", _MDEBERTA_FULL),
    "02_ia3_bias": ("mdeberta", _MDEBERTA_FULL),
    "03_flan_t5_xl_checkpointing": ("xl", _XL_B8),
    "04_peft_shootout": ("mdeberta", {**_MDEBERTA_FULL, "seq_len": 128}),
    "05_will_it_fit": ("xl", _XL_B8),
    "06_flan_t5_xxl_16_bit": (
        "xxl",
        {
            **_XL_B8,
            "gradient_checkpointing": True,
            "precision": "bf16-true",
        },
    ),
}


def test_every_chapter_has_needs():
    assert sorted(CHAPTER_NEEDS) == [path.stem for path in CHAPTERS]


@pytest.mark.parametrize("chapter", sorted(LARGEST_STEPS))
def test_gpu_figure_is_the_planners_largest_step(chapter):
    name, step = LARGEST_STEPS[chapter]
    config = (
        helpers.mdeberta_v3_base_config()
        if name == "mdeberta"
        else helpers.flan_t5_config(f"google/flan-t5-{name}")
    )
    estimate = helpers.estimate_training_memory(config, **step).total_gib
    assert CHAPTER_NEEDS[chapter].gpu_gib == pytest.approx(
        estimate, abs=0.05
    )


@pytest.mark.parametrize("chapter", sorted(CHAPTER_NEEDS))
def test_each_chapter_fits_a_free_colab_runtime_with_a_t4(chapter):
    needs = CHAPTER_NEEDS[chapter]
    assert needs.ram_gb < COLAB_RAM_GB
    assert needs.gpu_gib < helpers.usable_gpu_gib("T4")


def test_chapter_4_takes_at_most_15_minutes_on_a_t4():
    assert CHAPTER_NEEDS["04_peft_shootout"].t4_minutes <= 15


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shows_its_needs_and_checks_its_gpu(path):
    notebook = nbformat.read(path, as_version=4)
    needs = CHAPTER_NEEDS[path.stem]
    assert (
        f"| `full` on a Colab T4 | {needs.line()} "
        in notebook.cells[0].source
    )
    code = "\n".join(
        c.source for c in notebook.cells if c.cell_type == "code"
    )
    assert f'helpers.check_gpu("{path.stem}", profile)' in code


def test_setup_page_table_equals_the_needs():
    page = (ROOT / "book" / "setup.md").read_text()
    rows = {
        match[1]: match[2]
        for match in re.finditer(
            r"^\| \{doc\}`[^<]+<\.\./notebooks/([^>]+)>` \| (.+) \|$",
            page,
            flags=re.MULTILINE,
        )
    }
    assert sorted(rows) == sorted(CHAPTER_NEEDS)
    for chapter, needs in CHAPTER_NEEDS.items():
        assert rows[chapter] == (
            f"{needs.ram_gb:.1f} GB | {needs.gpu_gib:.1f} GiB | "
            f"{needs.download_gb:.1f} GB | about {needs.t4_minutes} min"
        )


def _fake_gpu(monkeypatch, name: str, total_bytes: int) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda index: SimpleNamespace(name=name, total_memory=total_bytes),
    )


def test_check_gpu_stops_a_chapter_on_a_small_gpu(monkeypatch):
    _fake_gpu(monkeypatch, "Tesla P4", 8 * 2**30)
    with pytest.raises(GPUTooSmallError) as error:
        helpers.check_gpu("03_flan_t5_xl_checkpointing", FULL)
    message = str(error.value)
    assert "11.1 GiB" in message and "Tesla P4" in message
    assert "PEFT_BOOK_PROFILE=tiny" in message and "larger GPU" in message


def test_check_gpu_passes_a_t4_and_says_so(monkeypatch, capsys):
    _fake_gpu(monkeypatch, "Tesla T4", 15_360 * 2**20)
    helpers.check_gpu("03_flan_t5_xl_checkpointing", FULL)
    assert "Tesla T4" in capsys.readouterr().out


def test_check_gpu_does_nothing_without_cuda_or_in_tiny(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    helpers.check_gpu("03_flan_t5_xl_checkpointing", FULL)
    _fake_gpu(monkeypatch, "Tesla P4", 2**30)
    helpers.check_gpu("03_flan_t5_xl_checkpointing", TINY)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="'07_no_such_chapter'; known: 01_"):
        helpers.check_gpu("07_no_such_chapter", FULL)
