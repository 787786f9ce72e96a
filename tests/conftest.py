"""Shared fixtures: money hygiene, real database files, real PostgreSQL, shared data."""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Money hygiene: any float mixed into Decimal arithmetic raises in tests.
decimal.getcontext().traps[decimal.FloatOperation] = True

SHARED_DATA = Path(
    os.environ.get("ARENA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


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


# --- databases -----------------------------------------------------------------------------------
import shutil  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from core.clock import SimulatedClock  # noqa: E402
from core.db import Database  # noqa: E402

PG_URL = os.environ.get("ARENA_TEST_PG_URL")
START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    """A simulated UTC clock starting 2025-01-01 00:00."""
    return SimulatedClock(START)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; each test gets a copy (migrations run once)."""
    from core.migrations import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    return path


def make_sqlite_db(template: Path, directory: Path, clock: SimulatedClock) -> Database:
    target = directory / f"arena-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return Database(f"sqlite:///{target}", clock=clock)


@pytest.fixture
def sqlite_db(_sqlite_template: Path, tmp_path: Path, clock: SimulatedClock) -> Iterator[Database]:
    """A real, migrated SQLite database file."""
    db = make_sqlite_db(_sqlite_template, tmp_path, clock)
    yield db
    db.dispose()


def _admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    """A migrated template database on the test PostgreSQL server (CREATE DATABASE ... TEMPLATE)."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need ARENA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1/test)")
    from sqlalchemy.engine import make_url

    from core.db import normalise_url
    from core.migrations import upgrade

    name = f"arena_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(_admin_url(PG_URL)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_pg_db(template: str, clock: SimulatedClock) -> tuple[Database, str]:
    from sqlalchemy.engine import make_url

    from core.db import normalise_url

    assert PG_URL
    name = f"arena_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(_admin_url(PG_URL)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    return Database(url, clock=clock), name


def drop_pg_db(name: str) -> None:
    from core.db import normalise_url

    assert PG_URL
    admin = create_engine(normalise_url(_admin_url(PG_URL)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_db(_pg_template: str, clock: SimulatedClock) -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database (skips without ARENA_TEST_PG_URL)."""
    db, name = make_pg_db(_pg_template, clock)
    yield db
    db.dispose()
    drop_pg_db(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test on a real SQLite file and on real PostgreSQL."""
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_db"
    db: Database = request.getfixturevalue(fixture)
    return db


# --- platform risk -------------------------------------------------------------------------------
# Production registers the circuit breaker and the redemption limit as ledger trade checks in the
# composition root of every entry point (bot.wiring.install_safety); the test session is a root of
# its own and does the same, deterministically. tests/e2e/test_safety_roots.py starts each entry
# point from an unconfigured ledger to prove that it installs them itself.
import core.risk  # noqa: E402

core.risk.install()


@pytest.fixture
def pure_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ledger arithmetic without the platform-risk trade checks (circuit breaker, redemption limit)."""
    from core.ledger import guards

    monkeypatch.setattr(guards, "_CHECKS", {})
    monkeypatch.setitem(guards._STATE, "configured", True)


@pytest.fixture
def unconfigured_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ledger as in a fresh process: no pre-trade checks installed (restored after the test)."""
    from core.ledger import guards

    monkeypatch.setattr(guards, "_CHECKS", {})
    monkeypatch.setitem(guards._STATE, "configured", False)
