from __future__ import annotations

import helpers


def test_public_names_resolve():
    assert helpers.__all__, "helpers exports nothing"
    missing = [
        name for name in helpers.__all__ if not hasattr(helpers, name)
    ]
    assert missing == []
    assert len(set(helpers.__all__)) == len(helpers.__all__)
