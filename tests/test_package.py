from __future__ import annotations

import helpers


def test_public_names_resolve():
    assert helpers.__all__, "helpers exports nothing"
    missing = [
        name for name in helpers.__all__ if not hasattr(helpers, name)
    ]
    assert missing == []
    assert len(set(helpers.__all__)) == len(helpers.__all__)


def test_the_wheel_holds_every_file_of_the_package(tmp_path):
    """What Colab's ``pip install git+...`` installs: every module and data file of
    ``helpers`` that git tracks, subpackages (``helpers._measure``) and the review
    phrases included."""
    from tests.rehearsal import _tracked_files, install_helpers_wheel

    site = install_helpers_wheel(tmp_path)
    tracked = {
        name
        for name in _tracked_files()
        if name.startswith("helpers/") and "__pycache__" not in name
    }
    installed = {
        str(path.relative_to(site))
        for path in (site / "helpers").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tracked and tracked - installed == set()
