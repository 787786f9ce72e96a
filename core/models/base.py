"""Declarative base and the column types every model uses.

* :class:`Money` / :class:`Quantity` store ``Decimal`` exactly: ``NUMERIC(38, 18)`` on PostgreSQL and
  canonical decimal *text* on SQLite (which has no exact NUMERIC). A ``float`` is refused at bind time.
* :class:`UTCDateTime` always returns timezone-aware UTC datetimes (SQLite stores them naive).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.clock import ensure_utc
from core.money import canonical_text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount (cash, NAV, token quantity, rate).

    PostgreSQL: NUMERIC(38, 18). SQLite: TEXT holding ``format(value, 'f')`` so 18 decimal places
    round-trip exactly (SQLite's NUMERIC affinity would coerce to a lossy REAL).
    """

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(80))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, (float, bool)):
            raise TypeError(f"refusing to store {type(value).__name__} {value!r} as money; use Decimal")
        if isinstance(value, int):
            value = Decimal(value)
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise TypeError(f"refusing to store non-finite amount {value}")
        if dialect.name == "sqlite":
            return canonical_text(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):  # pragma: no cover - would mean a schema bug
            raise TypeError("database returned a float for a money column")
        return Decimal(str(value))


#: Token quantities use the same exact storage as cash.
Quantity = Money


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        utc = ensure_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


def enum_column(cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """A closed set of values stored as their string values (VARCHAR + CHECK, portable)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        length=length,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        Decimal: Money(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }
