"""Shared fixtures: `web` (a real HTTP server on 127.0.0.1, see fixtureweb.py) and `home` (an empty data home)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import fixtureweb and pdfgen as plain modules

from fixtureweb import FixtureWeb  # noqa: E402


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    """A FixtureWeb started on a free port of 127.0.0.1, stopped after the test."""
    server = FixtureWeb().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh data home folder (archive.db and blobs/ are created in it on first use)."""
    path = tmp_path / "home"
    path.mkdir()
    return path
