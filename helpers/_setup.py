"""The set-up ``import helpers`` does, most of it when each library is first imported.

A chapter's output must not depend on the order of its imports, and ``import helpers``
must stay light: the planner's command (``python -m helpers.will_it_fit``) needs none of
torch, transformers or Lightning, which take seconds to import. So ``import helpers`` only
hides the libraries' pointless warnings (:mod:`helpers._quiet`) and leaves a hook in the
import system (:class:`_AfterImport`) that acts right after a library's own code has run:

- ``torch``: declare torchvision's missing operators (:mod:`helpers._torchvision_compat`),
  before torchvision's own code runs, whichever of the two is imported first;
- ``lightning.pytorch``: lower the log level it raises to INFO when imported;
- ``huggingface_hub.utils`` and ``transformers.utils.logging``: no progress bars, and only
  transformers' errors.

Each hook imports nothing: a hook that imported another library could meet a library
that is itself half imported. A library imported before ``helpers`` gets its hook at once.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from ._quiet import quiet_library_warnings, quiet_loggers, quiet_transformers


def _torch_loaded(torch: ModuleType) -> None:
    from ._torchvision_compat import declare_missing_operators

    declare_missing_operators()


#: What to do right after each library is imported, given the module.
AFTER_IMPORT: dict[str, Callable[[ModuleType], None]] = {
    "torch": _torch_loaded,
    "lightning.pytorch": lambda module: quiet_loggers(),
    "huggingface_hub.utils": lambda module: module.disable_progress_bars(),
    "transformers.utils.logging": quiet_transformers,
}


def set_up() -> None:
    """Hide the libraries' warnings now; run :data:`AFTER_IMPORT`'s hooks as each
    library is imported (at once for a library already imported)."""
    quiet_library_warnings()
    waiting = {}
    for name, hook in AFTER_IMPORT.items():
        if name in sys.modules:
            hook(sys.modules[name])
        else:
            waiting[name] = hook
    if waiting and not any(
        isinstance(f, _AfterImport) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _AfterImport(waiting))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds each waiting module as the other finders do, with a loader that runs its
    hook once the module's own code has run. A module's hook waits until the module is
    loaded: libraries also ask for a spec (``importlib.util.find_spec``) only to learn
    whether a package is installed."""

    def __init__(
        self, waiting: dict[str, Callable[[ModuleType], None]]
    ) -> None:
        self.waiting = waiting
        self._finding: set[str] = set()

    def find_spec(
        self, name: str, path: Any = None, target: Any = None
    ) -> ModuleSpec | None:
        if name not in self.waiting or name in self._finding:
            return None
        self._finding.add(name)  # the other finders' answer, not ours again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding.discard(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenHook(spec.loader, self)
        return spec

    def loaded(self, module: ModuleType) -> None:
        """Run ``module``'s hook, once; leave the import system when none waits."""
        hook = self.waiting.pop(module.__name__, None)
        if not self.waiting and self in sys.meta_path:
            sys.meta_path.remove(self)
        if hook is not None:
            hook(module)


class _ThenHook(importlib.abc.Loader):
    """A module's own loader, followed by its hook."""

    def __init__(self, loader: Any, finder: _AfterImport) -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._finder.loaded(module)

    def __getattr__(
        self, name: str
    ) -> Any:  # get_source, get_resource_reader...
        return getattr(self._loader, name)
