"""Shared fixtures: money hygiene, real database files, real PostgreSQL, shared data."""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Money hygiene: any float mixed into Decimal arithmetic raises in tests.
decimal.getcontext().traps[decimal.FloatOperation] = True

SHARED_DATA = Path(os.environ.get("ARENA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(autouse=True)
def _trap_float_operations() -> Iterator[None]:
    """Re-arm the FloatOperation trap in every test (threads and libraries may reset contexts)."""
    ctx = decimal.getcontext()
    old = ctx.traps[decimal.FloatOperation]
    ctx.traps[decimal.FloatOperation] = True
    yield
    ctx.traps[decimal.FloatOperation] = old


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real historical data in ../shared/data; skips the test when it is absent."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real data not found at {SHARED_DATA} (set ARENA_SHARED_DATA)")
    return SHARED_DATA
