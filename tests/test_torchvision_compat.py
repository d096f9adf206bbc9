"""helpers makes torchvision (hence AutoGluon) importable next to a CPU build of torch,
when torch is first imported, whichever of torch and torchvision a program imports
first."""

from __future__ import annotations

import helpers
from helpers import _torchvision_compat

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(helpers.__file__).parent.parent
cpu_torch_only = pytest.mark.skipif(
    torch.version.cuda is not None,
    reason="the CUDA torchvision wheel only breaks next to a CPU build of torch",
)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_autogluon_imports_after_helpers():
    import autogluon.multimodal
    import torchvision

    assert hasattr(autogluon.multimodal, "MultiModalPredictor")
    assert torchvision.__version__


def test_declaring_again_changes_nothing():
    library = _torchvision_compat._library
    declared = _torchvision_compat.declare_missing_operators()
    assert _torchvision_compat._library is library
    assert declared == (library is not None)


@cpu_torch_only
@pytest.mark.parametrize(
    "imports", ["torchvision", "torch, torchvision", "autogluon.multimodal"]
)
def test_plain_import_fails_and_helpers_fixes_it(imports):
    plain = _python("import torchvision")
    assert plain.returncode != 0
    assert "torchvision::nms does not exist" in plain.stderr

    fixed = _python(
        f"import helpers\nimport {imports}\n"
        "from helpers import _torchvision_compat\n"
        "print('declared', _torchvision_compat._library is not None)"
    )
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert fixed.stdout.strip().splitlines()[-1] == "declared True"


def test_operators_that_load_are_left_alone(monkeypatch):
    monkeypatch.setattr(_torchvision_compat, "_library", None)
    monkeypatch.setattr(torch.ops, "load_library", lambda path: None)
    assert _torchvision_compat.declare_missing_operators() is False
    assert _torchvision_compat._library is None


def test_missing_torchvision_is_not_an_error(monkeypatch):
    import importlib.util

    monkeypatch.setattr(_torchvision_compat, "_library", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert _torchvision_compat.declare_missing_operators() is False
    assert _torchvision_compat._library is None


def test_libraries_are_quiet_whatever_the_order_of_imports():
    """Lightning raises its loggers to INFO when imported; transformers warns and draws
    bars: the hooks of ``import helpers`` quiet each as it is imported."""
    quiet = _python(
        "import helpers, logging\n"
        "import transformers.utils.logging as t\n"
        "import autogluon.multimodal\n"
        "from huggingface_hub.utils import are_progress_bars_disabled\n"
        "print(logging.getLogger('lightning.pytorch').level, t.get_verbosity(),\n"
        "      t.is_progress_bar_enabled(), are_progress_bars_disabled())"
    )
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert quiet.stdout.split() == ["30", "40", "False", "True"]
