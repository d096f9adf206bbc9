"""Make ``import autogluon.multimodal`` work next to a CPU build of torch.

The torchvision wheel on PyPI is built against CUDA. Next to the CPU build of torch its
compiled operators cannot load, and ``import torchvision`` then stops with
``RuntimeError: operator torchvision::nms does not exist`` because its Python code
registers fake kernels for ``nms`` and ``qnms``. Declaring the two operator schemas first
lets the import finish. The text models in this book never call these operators.

Importing this module is enough. Where torchvision imports cleanly it changes nothing.
"""

from __future__ import annotations

import sys

import torch

_MISSING_OP = "torchvision::nms does not exist"
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
# Kept at module level: the schemas are removed when the Library object is collected.
_library: torch.library.Library | None = None


def _forget_torchvision() -> None:
    for name in [
        m
        for m in sys.modules
        if m == "torchvision" or m.startswith("torchvision.")
    ]:
        del sys.modules[name]


def ensure_torchvision_imports() -> bool:
    """Import torchvision, declaring its missing operators if needed.

    Returns True when the schemas had to be declared, False when torchvision imported as
    it is (or is not installed at all). Any other import error is raised unchanged.
    """
    global _library
    try:
        import torchvision  # noqa: F401
    except ModuleNotFoundError:
        return False
    except RuntimeError as error:
        if _MISSING_OP not in str(error):
            raise
        _forget_torchvision()
        _library = torch.library.Library("torchvision", "DEF")
        for schema in _SCHEMAS:
            _library.define(schema)
        import torchvision  # noqa: F401

        return True
    return False


PATCHED = ensure_torchvision_imports()
