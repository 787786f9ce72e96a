"""Turn a chat line into a command name and arguments, with short, clear errors.

Rules: a command starts with ``/`` (Telegram may append ``@BotName``, which is stripped); the
name is lower-cased ASCII letters, digits and ``_`` (at most 32, Telegram's limit); arguments are
split on whitespace (no shell quoting: a free-text tail such as an organisation name is the
joined rest).
Lines longer than :data:`MAX_LINE` are refused before any parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.errors import ValidationError
from core.money import parse_cash, parse_tokens, read_typed_amount

MAX_LINE = 1000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A parsed line: ``name`` is None for free text (a conversation answer)."""

    name: str | None
    args: tuple[str, ...]
    text: str


def parse_line(line: str) -> ParsedLine:
    """Split ``/name@bot arg1 arg2`` into its parts; free text gives ``name=None``."""
    if len(line) > MAX_LINE:
        raise ValidationError(f"That message is too long (over {MAX_LINE} characters).")
    stripped = line.strip()
    if not stripped.startswith("/"):
        return ParsedLine(None, tuple(stripped.split()), stripped)
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not _NAME.match(name):
        raise ValidationError("That is not a command I know. Send /help for the list.")
    rest = rest.strip()
    return ParsedLine(name, tuple(rest.split()), rest)


def expect_args(args: tuple[str, ...], count: int, usage: str) -> tuple[str, ...]:
    """Exactly ``count`` arguments, or a usage message."""
    if len(args) != count:
        raise ValidationError(f"Usage: {usage}")
    return args


def symbol_arg(value: str) -> str:
    """A token symbol (``STRAT-MOMENTUM-BTC-001``): letters, digits, ``-_.``; upper-cased; <= 64."""
    symbol = value.strip().upper()
    if not _SYMBOL.match(symbol):
        raise ValidationError(f"{value[:20]!r} is not a token symbol; see /tokens.")
    return symbol


def id_arg(value: str, what: str = "id") -> int:
    """A positive integer id (leading ``#`` allowed)."""
    text = value.strip().lstrip("#")
    if not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{what} must be a number, like 12.")
    number = int(text)
    if number <= 0:
        raise ValidationError(f"{what} must be a positive number.")
    return number


def cash_arg(value: str) -> Decimal:
    """A dollar amount such as ``100``, ``1,000.50`` or ``$1,250`` (strict form, never a float)."""
    return parse_cash(read_typed_amount(value, field="Amount"), field="Amount")


#: What ``/sell SYMBOL all`` passes on: redeem the whole position.
ALL = "all"


def quantity_arg(value: str) -> Decimal | None:
    """A token quantity such as ``2.5`` or ``1,000``; ``all`` gives None (the whole position)."""
    if value.strip().lower() == ALL:
        return None
    return parse_tokens(read_typed_amount(value, field="Quantity", dollars=False), field="Quantity")


def hour_arg(value: str) -> int:
    """An hour of the day in UTC, 0-23."""
    if not value.isdigit() or not 0 <= int(value) <= 23:
        raise ValidationError("The digest hour must be a whole number from 0 to 23 (UTC).")
    return int(value)


def day_arg(value: str, what: str = "date") -> date:
    """A calendar day written ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{what} {value[:20]!r} is not a date; write it like 2024-01-31") from None


def day_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """Optional first and last days; refuses a range that ends before it starts."""
    first = day_arg(start, "--start") if start else None
    last = day_arg(end, "--end") if end else None
    if first and last and last < first:
        raise ValidationError(f"--end {last} is before --start {first}; swap them")
    return first, last
