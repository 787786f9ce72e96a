"""Small helpers shared by the CLI commands."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.db import Database, open_database


def open_db(*, ensure_schema: bool = False) -> Database:
    """Open the configured database; tell the user to run `arena init` when it has no schema."""
    from sqlalchemy import inspect

    from core.errors import ConfigError

    db = open_database(ensure_schema=ensure_schema)
    if not ensure_schema and not inspect(db.engine).has_table("ledger_accounts"):
        db.dispose()
        raise ConfigError("the database has no schema yet; run `arena init` (or `arena demo`) first")
    return db


def decimal_json(value: Any) -> Any:
    """``json.dumps`` default: decimals as strings (exact), dates as ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
