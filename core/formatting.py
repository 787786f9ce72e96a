"""Numbers, dates and names for people: the one place that turns values into display text.

Every number a person reads (chat replies, digests, CLI tables, PDFs, the dashboard) goes through
this module; ``--json`` output and the ledger keep full precision and never use it.

Conventions:

* **Cash** is US dollars: two decimals, thousands separators, a leading ``$`` and a minus sign in
  front (``-$1,234.50``). Display rounding is half-up to the cent; a non-zero amount that rounds to
  zero is shown as ``<$0.01`` so a dust balance never reads as empty.
* **Token quantities**: at most 6 decimals, truncated (never show more than is held), trailing zeros
  removed, thousands separators; a non-zero quantity below 0.000001 reads ``<0.000001``.
* **NAV** (USD per token): ``$`` and 4 decimals, half-up.
* **Percentages** take *fractions* (0.0123 = 1.23 %). :func:`percent` is unsigned unless asked;
  :func:`change` always carries a sign except for zero. A drawdown is a loss from a peak and is
  shown as a non-positive percentage (``-3.20%``, or ``0.00%`` at the peak, never ``+0.00%``).
* **Ratios** (Sharpe, Sortino, PSR) are plain numbers with 2 decimals.
* **Dates** are ISO (``2025-01-31``); times are UTC, minutes precision, with ``UTC`` appended.
* Never an exponent, never more than 6 decimals: inputs may be ``Decimal``, ``int`` or ``float``
  (metrics are floats; a float is only ever *displayed* here, never used for money).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

Number = Decimal | int | float

CENT = Decimal("0.01")
QTY_PLACES = 6
ELLIPSIS = "…"

__all__ = [
    "candidate_state",
    "cash",
    "change",
    "count",
    "counted",
    "date_text",
    "datetime_text",
    "drawdown",
    "family_name",
    "mode_name",
    "nav",
    "percent",
    "quantity",
    "ratio",
    "sentence",
    "shorten",
]


def _dec(value: Number) -> Decimal:
    """A finite Decimal from a display input (floats through ``repr`` so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError("a boolean is not a number to display")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot display a non-finite number ({value!r})")
        result = Decimal(repr(value))
    else:
        raise TypeError(f"cannot display {type(value).__name__} as a number")
    if not result.is_finite():
        raise ValueError(f"cannot display a non-finite number ({value!r})")
    return result


def _fixed(value: Decimal, places: int, rounding: str) -> str:
    """``value`` with exactly ``places`` decimals and thousands separators, no exponent."""
    quantum = Decimal(1).scaleb(-places)
    try:
        rounded = value.quantize(quantum, rounding=rounding)
    except InvalidOperation:  # too many digits for the default context: widen it
        from decimal import Context

        rounded = value.quantize(quantum, rounding=rounding, context=Context(prec=120))
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.00"
    return f"{rounded:,.{places}f}"


def cash(amount: Number, *, dust: bool = True) -> str:
    """``1234.5`` -> ``$1,234.50``; ``-3`` -> ``-$3.00``; ``0.000001`` -> ``<$0.01``.

    With ``dust=False`` a tiny amount is rounded like any other (``$0.00``).
    """
    value = _dec(amount)
    if dust and value != 0 and abs(value) < Decimal("0.005"):
        return "<$0.01" if value > 0 else "-<$0.01"
    text = _fixed(abs(value), 2, ROUND_HALF_UP)
    negative = value < 0 and text != "0.00"
    return f"-${text}" if negative else f"${text}"


def quantity(units: Number, places: int = QTY_PLACES) -> str:
    """A token quantity: ``5000.000000000000000000`` -> ``5,000``; ``1.23456789`` -> ``1.234567``."""
    if not 0 <= places <= QTY_PLACES:
        raise ValueError(f"places must be between 0 and {QTY_PLACES}")
    value = _dec(units)
    smallest = Decimal(1).scaleb(-places)
    if value != 0 and abs(value) < smallest:
        return f"<{smallest:f}" if value > 0 else f"-<{smallest:f}"
    text = _fixed(value, places, ROUND_DOWN)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nav(per_token: Number) -> str:
    """NAV per token in USD: ``1.00891234`` -> ``$1.0089``."""
    value = _dec(per_token)
    text = _fixed(abs(value), 4, ROUND_HALF_UP)
    return f"-${text}" if value < 0 and text != "0.0000" else f"${text}"


def percent(fraction: Number, places: int = 2, *, signed: bool = False) -> str:
    """``0.0123`` -> ``1.23%`` (``+1.23%`` with ``signed``; zero is never signed)."""
    value = _dec(fraction) * 100
    text = _fixed(value, places, ROUND_HALF_UP)
    if signed and not text.startswith("-") and Decimal(text.replace(",", "")) != 0:
        text = "+" + text
    return f"{text}%"


def change(fraction: Number, places: int = 2) -> str:
    """A signed change: ``0.0123`` -> ``+1.23%``, ``-0.05`` -> ``-5.00%``, ``0`` -> ``0.00%``."""
    return percent(fraction, places, signed=True)


def drawdown(fraction: Number, places: int = 2) -> str:
    """A drawdown, given as a positive fraction below the peak (0.032) or a non-positive change
    (-0.032): both read ``-3.20%``; at the peak ``0.00%``."""
    value = abs(_dec(fraction))
    return percent(-value, places)


def ratio(value: Number, places: int = 2) -> str:
    """A dimensionless statistic (Sharpe, PSR): ``1.53456`` -> ``1.53``."""
    return _fixed(_dec(value), places, ROUND_HALF_UP)


def count(n: int) -> str:
    """An integer count with thousands separators: ``12345`` -> ``12,345``."""
    return f"{n:,}"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``1 wallet``, ``0 wallets``, ``1,200 trades``.

    ``plural`` defaults to ``singular + "s"``; give it for irregular nouns (``1 proposal``...).
    """
    return f"{count(n)} {singular if n == 1 else (plural or singular + 's')}"


def mode_name(mode: object) -> str:
    """A wallet mode as people read it: ``full-ai``, ``hybrid``, ``manual`` (a ``WalletMode`` or its
    value; the stored and JSON value of full AI is ``full_ai``)."""
    return str(getattr(mode, "value", mode)).replace("_", "-")


#: Strategy families as a treasurer reads them (the spec's ``family`` values are identifiers).
FAMILY_NAMES = {
    "ma_crossover": "moving average crossover",
    "multi_strategy": "multi-strategy",
}

#: Import-pipeline states (``CandidateState`` values) in words.
CANDIDATE_STATES = {
    "discovered": "found, not parsed yet",
    "parsed": "parsed, waiting to be implemented",
    "rejected": "rejected",
    "implemented": "implemented, waiting for its backtest",
    "backtested": "backtested, waiting for the gate",
    "failed_gate": "failed the quality gate",
    "proving": "paper trading before it can become a token",
    "tokenized": "became a token",
}


def family_name(family: object) -> str:
    """A strategy family in words: ``yield_rotation`` -> ``yield rotation``, ``ma_crossover`` ->
    ``moving average crossover`` (a ``Family`` or its value)."""
    value = str(getattr(family, "value", family))
    return FAMILY_NAMES.get(value, value.replace("_", " "))


def candidate_state(state: object) -> str:
    """An import candidate's state in words: ``failed_gate`` -> ``failed the quality gate``."""
    value = str(getattr(state, "value", state))
    return CANDIDATE_STATES.get(value, value.replace("_", " "))


def date_text(day: date | datetime) -> str:
    """ISO date: ``2025-01-31``."""
    if isinstance(day, datetime):
        day = day.date()
    return day.isoformat()


def datetime_text(moment: datetime) -> str:
    """UTC time to the minute: ``2025-01-31 14:05 UTC`` (naive datetimes are taken as UTC)."""
    from datetime import UTC

    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_PLAIN_WORD = re.compile(r"[a-z]+[a-z']*")


def sentence(text: str) -> str:
    """An error or notice as a sentence: its first letter a capital (``the Free plan is manual
    only: ...`` -> ``The Free plan ...``). A first word that is typed as is — a name with ``_``, ``:``,
    ``-``, ``/``, digits or a dot (``entry_rule``, ``aave_v2:USDC``, ``full-ai``, ``/tokens``) — is
    left alone, since capitalising it would name something that does not exist."""
    head, sep, rest = text.partition(" ")
    if _PLAIN_WORD.fullmatch(head.rstrip(":;,")):
        return head[0].upper() + head[1:] + sep + rest
    return text


def shorten(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, ending in ``…`` when cut."""
    if width < 1:
        raise ValueError("width must be at least 1")
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= (width - 1) // 2:  # cut at a word boundary unless that loses more than half
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ELLIPSIS
