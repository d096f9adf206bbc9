"""``python -m tests.gpu_check``: its CPU smoke mode end to end, and its parts.

The smoke mode runs the GPU check's own code on the CPU (FLAN-T5-small, 32 tokens), so
the command prepared for a lent GPU cannot rot between the days one is lent.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from tests import gpu_check, rehearsal


def test_smoke_mode_writes_the_json_and_the_table(tmp_path):
    out = tmp_path / "out"
    code = gpu_check.main(
        ["--smoke", "--out", str(out), "--work", str(tmp_path / "work")]
    )
    report = json.loads((out / "gpu_check.json").read_text())
    table = (out / "gpu_check.md").read_text()
    assert code == 0 and report["passed"] and report["failed"] == 0
    assert report["mode"] == "smoke" and not report["not_measured"]
    steps = report["steps"]
    assert {(s["peft"], s["precision"], s["batch_size"]) for s in steps} == {
        (peft, precision, batch)
        for peft, precision in (("ia3_bias", "32"), ("full", "bf16-true"))
        for batch in (1, 4)
    }
    for s in steps:
        assert s["device"] == "cpu" and s["seq_len"] == 32
        assert s["measured_gib"] == s["tensor_peak_gib"] > 0
        assert s["error"] == pytest.approx(
            s["predicted_gib"] / s["measured_gib"] - 1
        )
        assert abs(s["error"]) <= gpu_check.TOLERANCE
        # each phase's peak, the largest of them the step's; AdamW's implementation
        phases = s["phase_peaks_gib"]
        assert list(phases) == ["forward", "backward", "optimizer step"]
        assert max(phases.values()) == pytest.approx(s["tensor_peak_gib"])
        assert s["measured_phase"] in phases and s["predicted_phase"]
        assert s["optimizer"] == "single-tensor"
    monitor = report["monitor"]
    assert monitor["device"] == "cpu" and monitor["samples"] >= 2
    assert monitor["monitor_peak_gib"] >= monitor["baseline_gib"] > 0
    # each step: measured on the CPU, within 10%, AdamW as assumed; the monitor: two
    assert len(report["claims"]) == 3 * len(steps) + 2
    assert all(c["passed"] for c in report["claims"])
    assert [c["chapter"] for c in report["chapters"]] == list(
        gpu_check.CHAPTER_PRIORITY
    )
    assert {c["how"] for c in report["chapters"]} == {"not run"}
    assert (
        report["versions"]["torch"]["here"]
        == torch.__version__.split("+")[0]
        or report["versions"]["torch"]["here"] == torch.__version__
    )
    assert table.startswith("# GPU check (smoke): passed")
    assert table.count("| ch5 | flan-t5-small | ia3_bias | yes | 32 |") == 2
    assert "FAIL" not in table and "MemoryMonitor on cpu" in table


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here")
def test_the_real_mode_refuses_at_once_without_cuda(tmp_path, capsys):
    code = gpu_check.main(["--out", str(tmp_path / "out")])
    assert code == 2 and not (tmp_path / "out").exists()
    assert "no CUDA device here" in capsys.readouterr().err


def test_a_failed_claim_fails_the_table():
    report = gpu_check.Report(mode="gpu", budget_s=480)
    row = {
        "source": "ch5", "model": "flan-t5-xl", "peft": "ia3_bias",
        "gradient_checkpointing": True, "precision": "32", "batch_size": 8,
        "predicted_gib": 6.0, "measured_gib": 5.0, "error": 0.2,
    }  # fmt: skip
    report.steps.append(row)
    report.claim("flan-t5-xl: planner within 10%", False, "+20.0%")
    report.claim("something else", True)
    table = gpu_check.markdown(report.as_dict())
    assert table.startswith("# GPU check (gpu): 1 FAILED")
    assert "+20.0% FAIL" in table and "- flan-t5-xl" in table
    assert not report.as_dict()["passed"]


def test_the_budget_decides_how_chapters_run():
    names = [rehearsal.Path(p).stem for p in rehearsal.NOTEBOOKS]
    estimates = {name: (10, 20) for name in names}

    def plan(left_s: float) -> list[str]:
        decided = gpu_check.plan_chapters(names, left_s, estimates)
        assert [name for name, _ in decided] == list(
            gpu_check.CHAPTER_PRIORITY
        )
        return [how for _, how in decided]

    n = len(names)
    assert plan(20 * n) == ["full"] * n
    assert plan(10 * n) == ["cuts"] * n
    # 10 s more: the first chapter (chapter 3) runs without the cuts
    assert plan(10 * n + 10) == ["full", *["cuts"] * (n - 1)]
    # too little for all: cut-down runs, as many as fit, in priority order
    assert plan(25) == ["cuts", "cuts", *["not run"] * (n - 2)]
    assert plan(15) == ["cuts", *["not run"] * (n - 1)]
    assert plan(5) == ["not run"] * n


def test_the_gpu_wheels_are_pinned_once(capsys):
    pins = gpu_check.pinned_versions()
    assert gpu_check.main(["--print-wheels"]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == len(set(printed)) == len(gpu_check.GPU_WHEELS)
    for requirement in printed:
        name, version = requirement.split("==")
        assert pins[gpu_check._normalise(name)] == version
    assert "autogluon.multimodal==1.6.3" in printed


def _imported_distributions() -> set[str]:
    """The installed distributions whose modules helpers, the chapters and the workshop
    guide import (at the top or inside a function), or look up with ``find_spec``."""
    import ast
    import sys
    from importlib import metadata

    import nbformat

    sources = [p.read_text() for p in gpu_check.ROOT.glob("helpers/**/*.py")]
    for path in [
        *gpu_check.ROOT.glob("notebooks/*.ipynb"),
        gpu_check.ROOT / "book" / "workshop.ipynb",
    ]:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                # a line magic (%pip) becomes a statement Python can parse
                sources.append(
                    re.sub(r"^(\s*)%.*$", r"\1pass", cell.source, flags=re.M)
                )
    modules = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules.add(node.module.split(".")[0])
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "find_spec"
                and isinstance(node.args[0], ast.Constant)
            ):
                modules.add(node.args[0].value.split(".")[0])
    owners = metadata.packages_distributions()
    return {
        gpu_check._normalise(dist)
        for module in modules - set(sys.stdlib_module_names) - {"helpers"}
        for dist in owners.get(module, [module])
    }


def test_the_gpu_machine_gets_every_package_the_chapters_import():
    has = {
        gpu_check._normalise(line)
        for line in (gpu_check.ROOT / "tests/data/gpu_machine_packages.txt")
        .read_text()
        .splitlines()
        if line and not line.startswith("#")
    }
    carried = {gpu_check._normalise(w) for w in gpu_check.GPU_WHEELS}
    left_out = {gpu_check._normalise(n) for n in gpu_check.NOT_CARRIED}
    needed = _imported_distributions()
    assert {"autogluon-multimodal", "torch", "nbformat"} <= needed
    missing = needed - has - carried - left_out
    assert not missing, f"add to gpu_check.GPU_WHEELS: {sorted(missing)}"


def test_a_chapter_runs_through_the_rehearsal_and_stops_in_time(tmp_path):
    import os

    import nbformat
    import psutil

    site = tmp_path / "site"  # the wheel's place: a stand-in helpers
    (site / "helpers").mkdir(parents=True)
    (site / "helpers" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(site)}
    notebook = tmp_path / "chapter.ipynb"

    def run(source: str, timeout_s: float) -> dict:
        cell = nbformat.v4.new_code_cell(source)
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), notebook)
        return gpu_check.run_notebook(notebook, site, env, timeout_s)

    done = run("import helpers\nprint(helpers.__file__)", 120)
    assert done["error"] is None and done["executed"] == done["cells"] == 1
    stopped = run("import time\ntime.sleep(120)", 3)
    assert stopped["timed_out"] and "stopped after 3 s" in stopped["error"]
    assert stopped["seconds"] < 60
    assert not psutil.Process().children(recursive=True)
