"""Fixtures shared by the engine tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def audit_dir(tmp_path, monkeypatch):
    """A checkpoint folder of this test's own (the signing key stays the instance's)."""
    folder = tmp_path / "audit"
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(folder))
    return folder
