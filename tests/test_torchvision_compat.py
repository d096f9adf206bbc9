"""helpers makes torchvision (hence AutoGluon) importable next to a CPU build of torch."""

from __future__ import annotations

from helpers import _torchvision_compat

import subprocess
import sys

import pytest
import torch

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
    )


def test_autogluon_imports_after_helpers():
    import autogluon.multimodal
    import torchvision

    assert hasattr(autogluon.multimodal, "MultiModalPredictor")
    assert torchvision.__version__


def test_ensure_torchvision_imports_again_changes_nothing():
    library = _torchvision_compat._library
    assert _torchvision_compat.ensure_torchvision_imports() is False
    assert _torchvision_compat._library is library


@cpu_torch_only
def test_plain_import_fails_and_helpers_fixes_it():
    plain = _python("import torchvision")
    assert plain.returncode != 0
    assert "torchvision::nms does not exist" in plain.stderr

    fixed = _python(
        "import helpers, torchvision\n"
        "from helpers import _torchvision_compat\n"
        "print('patched', _torchvision_compat.PATCHED)"
    )
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert fixed.stdout.strip().splitlines()[-1] == "patched True"


def test_other_import_errors_are_not_swallowed(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("something else entirely")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(RuntimeError, match="something else"):
        _torchvision_compat.ensure_torchvision_imports()


def test_missing_torchvision_is_not_an_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def missing(name, *args, **kwargs):
        if name == "torchvision":
            raise ModuleNotFoundError("No module named 'torchvision'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", missing)
    assert _torchvision_compat.ensure_torchvision_imports() is False
