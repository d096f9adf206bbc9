"""The package's layers, as ``helpers/__init__.py`` and the API page describe them.

A module imports only modules of its own layer or of the layers before it, at import time
or inside a function (type-only imports aside); the arithmetic layer imports no library
that trains or downloads at all when it is imported. Read from the source: ``import
helpers.planner`` runs ``helpers/__init__.py``, which imports none of them (its names
are imported on first use).
"""

from __future__ import annotations

import helpers

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(helpers.__file__).parent
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("set-up", frozenset({"_setup", "_torchvision_compat", "_quiet"})),
    (
        "arithmetic",
        frozenset(
            {
                "gpus",
                "_configs",
                "_architecture",
                "_planner_terms",
                "_cuda_terms",
                "_planner_phases",
                "planner",
            }
            | {"hyperparameters", "needs", "_checks"}
        ),
    ),
    (
        "files and data",
        frozenset(
            {"_files", "cache", "results", "_download", "_mirror", "reviews"}
            | {"_reviews_data", "_local_models", "_e5_small", "_e5_packed"}
            | {"models", "gpu_runs"}
        ),
    ),
    (
        "training and measuring",
        frozenset(
            {"profiles", "parameters", "recipes", "evaluation", "memory"}
            | {"_tensor_tracker"}
            | {"steps"}
            | {"adapters", "peers", "_measure"}
        ),
    ),
    (
        "on top",
        frozenset(
            {"plots", "score_plots", "_figures"}
            | {"will_it_fit", "_will_it_fit_cli"}
        ),
    ),
)
HEAVY = {
    "torch",
    "transformers",
    "lightning",
    "autogluon",
    "huggingface_hub",
}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(
        f"helpers.{module} is in no layer: add it to LAYERS"
    )


def _modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" or path.parent != PACKAGE
    )


def _imports(module: str) -> list[tuple[str, bool]]:
    """What ``module`` imports: (a module of helpers, or a library; whether at import)."""
    path = PACKAGE / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module.split(".")[:-1] if path.name != "__init__.py" else []
    if path.name == "__init__.py":
        package = module.split(".")
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, at_import: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(
                child.test
            ):
                continue  # for type checkers only
            inside = at_import and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if isinstance(child, ast.Import):
                found.extend((a.name, inside) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0:
                found.append((child.module or "", inside))
            elif isinstance(child, ast.ImportFrom):
                base = package[: len(package) - child.level + 1]
                names = (
                    [child.module]
                    if child.module
                    else [a.name for a in child.names]
                )
                found.extend(
                    ("helpers." + ".".join([*base, name]), inside)
                    for name in names
                )
            visit(child, inside)

    visit(ast.parse(path.read_text()), True)
    return found


def test_every_module_is_in_a_layer():
    for module in _modules():
        _layer(module)


@pytest.mark.parametrize("module", _modules())
def test_a_module_imports_nothing_from_a_later_layer(module):
    own = _layer(module)
    later = [
        name
        for name, _ in _imports(module)
        if name.startswith("helpers.")
        and _layer(name.removeprefix("helpers.")) > own
    ]
    assert later == [], (
        f"helpers.{module} ({LAYERS[own][0]}) imports {later}, of a later layer"
    )


def test_no_import_runs_back_up():
    """No two modules import each other, through any chain and at any depth of a
    function: the modules of helpers form a tree of floors, each importing only
    below itself (a subpackage, such as ``_measure``, counts as one module)."""

    def top(module: str) -> str:
        return module.split(".")[0]

    edges: dict[str, set[str]] = {}
    for module in _modules():
        edges.setdefault(top(module), set()).update(
            top(name.removeprefix("helpers."))
            for name, _ in _imports(module)
            if name.startswith("helpers.")
            and top(name.removeprefix("helpers.")) != top(module)
        )

    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as cycle:
        raise AssertionError(
            f"imports that run back up: {' -> '.join(cycle.args[1])}"
        ) from None


@pytest.mark.parametrize("module", sorted(LAYERS[1][1]))
def test_arithmetic_imports_nothing_that_trains_or_downloads(module):
    heavy = [
        name
        for name, at_import in _imports(module)
        if at_import and name.split(".")[0] in HEAVY
    ]
    assert heavy == [], f"helpers.{module} imports {heavy} when imported"


def test_attribute_comments_render_whole():
    """Sphinx (napoleon) reads ``text: more`` on the first line of a ``#:`` comment as
    "type: description" and shows the two halves the wrong way round (the API page
    renders the public modules)."""
    broken = []
    public = [p for p in PACKAGE.glob("*.py") if not p.name.startswith("_")]
    # StepMeasurement's fields render too
    rendered = [PACKAGE / "__init__.py", PACKAGE / "_measure" / "_types.py"]
    for path in [*rendered, *sorted(public)]:
        previous = ""
        for number, line in enumerate(path.read_text().splitlines(), 1):
            comment = line.split("#:", 1)[1] if "#:" in line else None
            first = comment is not None and not previous.strip().startswith(
                "#:"
            )
            if first and ": " in comment:
                broken.append(f"{path.name}:{number}: {line.strip()}")
            previous = line
    assert not broken, "\n".join(broken)
