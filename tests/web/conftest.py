"""Fixtures for the REST API tests: a populated platform over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import SimulatedClock
from tests.conftest import START, make_sqlite_db
from tests.web.support import ApiWorld, build_world


@pytest.fixture(scope="module")
def world(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> ApiWorld:
    """Shared by a module's tests: only tests that leave the platform as they found it (or whose
    changes the others do not read) use it; the others take ``fresh_world``."""
    db = make_sqlite_db(_sqlite_template, tmp_path_factory.mktemp("api"), SimulatedClock(START))
    return build_world(db)


@pytest.fixture
def fresh_world(_sqlite_template: Path, tmp_path: Path) -> ApiWorld:
    return build_world(make_sqlite_db(_sqlite_template, tmp_path, SimulatedClock(START)))
