"""Make ``import torchvision`` (hence AutoGluon) work next to a CPU build of torch.

The torchvision wheel on PyPI is built against CUDA. Next to the CPU build of torch its
compiled operators cannot load, and ``import torchvision`` then stops with
``RuntimeError: operator torchvision::nms does not exist`` because its Python code
registers fake kernels for ``nms`` and ``qnms``. Declaring the two operator schemas first
lets the import finish. The text models in this book never call these operators.

:func:`declare_missing_operators` loads torchvision's compiled operators as torchvision
does (``torch.ops.load_library``), without running any of torchvision's Python code, and
declares the schemas only where they cannot load. :mod:`helpers._setup` calls it right
after torch's first import: before torchvision's own code, whichever of the two a
program imports first. Where torchvision's operators load it changes nothing.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
# Kept at module level: the schemas are removed when the Library object is collected.
_library: torch.library.Library | None = None


def declare_missing_operators() -> bool:
    """Declare torchvision's ``nms`` and ``qnms`` where its compiled operators cannot
    load.

    Returns True when the schemas are declared (now or by an earlier call), False when
    torchvision's operators load as they are, or torchvision is not installed.
    """
    global _library
    if _library is not None:
        return True
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return False
    folder = Path(spec.origin).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (folder / f"_C{suffix}").is_file():
            try:
                torch.ops.load_library(str(folder / f"_C{suffix}"))
            except OSError:
                break
            return False
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)
    return True
