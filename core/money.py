"""Exact money and quantity arithmetic.

Conventions (read these before touching a balance):

* Cash is US dollars held as a stablecoin, quantised to ``CASH_QUANTUM`` (1e-6, USDC's 6 decimals).
* Token quantities are quantised to ``TOKEN_QUANTUM`` (1e-18, ERC-20's 18 decimals).
* NAV per token is kept to ``NAV_QUANTUM`` (1e-18) in USD per token.
* A ``float`` never touches a balance: :func:`parse_amount` refuses floats, NaN, infinities,
  negative, zero and over-precise values with a message that says what to do.
* Rounding always favours the pool (ERC-4626): what leaves the pool rounds down, what enters rounds up.
"""

from __future__ import annotations

import decimal
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from core import formatting
from core.errors import InvalidAmount

CASH_QUANTUM = Decimal("0.000001")
TOKEN_QUANTUM = Decimal("0.000000000000000001")
NAV_QUANTUM = Decimal("0.000000000000000001")
RATE_QUANTUM = Decimal("0.000000000000000001")

#: Smallest cash amount a deposit, withdrawal or buy may move, and the smallest value of an exchange
#: bid (policy: nothing under one cent is booked at a person's request; fees and NAV arithmetic still
#: work to the cash quantum).
MIN_CASH_AMOUNT = Decimal("0.01")
#: Largest cash amount one request may move (a sanity limit, not a business limit).
MAX_CASH_AMOUNT = Decimal("1000000000")  # one billion USD
#: Largest token quantity one request may move.
MAX_TOKEN_AMOUNT = Decimal("1000000000000")

ZERO = Decimal(0)

# One context for all ledger arithmetic: 60 significant digits is far more than NUMERIC(38,18)
# needs, so intermediate products never lose precision before the explicit quantize below.
LEDGER_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)


def _ctx() -> decimal.Context:
    ctx = LEDGER_CONTEXT.copy()
    # Keep the caller's FloatOperation trap (tests enable it) so floats are caught everywhere.
    ctx.traps[decimal.FloatOperation] = decimal.getcontext().traps[decimal.FloatOperation]
    return ctx


def ledger_context() -> decimal.Context:
    """The ledger's arithmetic context (60 digits, half-even), for ``decimal.localcontext``: plain
    ``+``/``-`` on balances must not round at Python's default 28 digits (a 1e12-unit supply with 18
    decimals has 31)."""
    return _ctx()


#: What a person may type as an amount: ASCII digits, commas only as thousands separators (every
#: group after the first exactly three digits), an optional decimal point, an optional leading ``$``.
TYPED_AMOUNT = re.compile(r"^\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$")
TYPED_EXAMPLE = "1000, 1,000.50 or $1,000"


def read_typed_amount(text: str, *, field: str = "amount", dollars: bool = True) -> Decimal:
    """An amount a person typed (``1000``, ``1,000.50``, ``1000.5``, ``$1,000``) as ``Decimal``.

    Checked against :data:`TYPED_AMOUNT` *before* any arithmetic, so misplaced commas (``1,5``,
    ``1,00,000``), exponents (``1e999999999``), signs, other digit scripts and words are refused
    with an example of the expected form. ``dollars=False`` (token quantities) refuses the ``$``.
    """
    cleaned = text.strip()
    if not TYPED_AMOUNT.match(cleaned) or (not dollars and cleaned.startswith("$")):
        example = TYPED_EXAMPLE if dollars else "2, 2.5 or 1,000"
        raise InvalidAmount(f"{field}: {_why_not(cleaned)}; write it like {example}")
    return Decimal(cleaned.lstrip("$").replace(",", ""))


_EXPONENT = re.compile(r"[0-9.][eE][+-]?[0-9]")


def _why_not(cleaned: str) -> str:
    """Why a typed amount was refused (never echoing an exponent or unprintable characters)."""
    if _EXPONENT.search(cleaned):
        return "amounts are written without an exponent"
    if "," in cleaned and all(c.isascii() and (c.isdigit() or c in ",.$") for c in cleaned):
        shown = formatting.shorten(cleaned, 20)
        return f"'{shown}' has its commas in the wrong place (they separate thousands)"
    shown = formatting.shorten("".join(c if c.isprintable() else "?" for c in cleaned), 20)
    return f"'{shown}' is not an amount" if shown else "the amount is missing"


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Convert user or database input to ``Decimal`` without ever passing through ``float``.

    Text with a comma must use commas as thousands separators (``1,000.50``); ``1,5`` is refused
    rather than read as 15.
    """
    if isinstance(value, (bool, float)):
        raise InvalidAmount(
            f"{field} must be given as a decimal string or integer, not {type(value).__name__}"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        if "," in text:
            return read_typed_amount(text, field=field)
        if text.startswith("$"):
            text = text[1:]
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidAmount(
                f"{field} {formatting.shorten(value, 20)!r} is not a number; write it like 100 or 12.50"
            ) from None
    else:
        raise InvalidAmount(f"{field} has unsupported type {type(value).__name__}")
    if result.is_nan():
        raise InvalidAmount(f"{field} is not a number (NaN)")
    if result.is_infinite():
        raise InvalidAmount(f"{field} must be finite")
    return result


def parse_amount(
    value: object,
    *,
    quantum: Decimal,
    field: str = "amount",
    maximum: Decimal | None = None,
    allow_zero: bool = False,
) -> Decimal:
    """Validate a positive amount with at most ``quantum`` precision.

    Raises :class:`InvalidAmount` for zero, negative, NaN, infinite, over-precise or over-limit input.
    """
    amount = to_decimal(value, field=field)
    dollars = quantum == CASH_QUANTUM
    if amount < 0:
        raise InvalidAmount(f"{field} must be positive")
    if amount == 0 and not allow_zero:
        raise InvalidAmount(f"{field} must be greater than zero")
    if maximum is not None and amount > maximum:  # before quantize: 1E+999999 must not reach it
        limit = formatting.cash(maximum) if dollars else formatting.quantity(maximum)
        raise InvalidAmount(f"{field} exceeds the limit: at most {limit}")
    if amount != amount.quantize(quantum, rounding=ROUND_FLOOR, context=_ctx()):
        places = -quantum.as_tuple().exponent  # type: ignore[operator]
        raise InvalidAmount(f"{field} has more than {places} decimal places")
    return amount.quantize(quantum, context=_ctx())


def parse_cash(value: object, *, field: str = "amount") -> Decimal:
    """A cash amount in USD a person asks to move (deposit, withdrawal, buy): at least one cent
    (:data:`MIN_CASH_AMOUNT`), at most 6 decimals, at most one billion."""
    amount = parse_amount(value, quantum=CASH_QUANTUM, field=field, maximum=MAX_CASH_AMOUNT)
    check_min_cash(amount, field=field)
    return amount


def check_min_cash(amount: Decimal, *, field: str = "amount") -> None:
    """Refuse a positive cash amount under :data:`MIN_CASH_AMOUNT` with a line naming the minimum."""
    if amount < MIN_CASH_AMOUNT:
        raise InvalidAmount(f"{field} must be at least {formatting.cash(MIN_CASH_AMOUNT)} (one cent)")


def parse_tokens(value: object, *, field: str = "quantity") -> Decimal:
    """A token quantity: positive, at most 18 decimals."""
    return parse_amount(value, quantum=TOKEN_QUANTUM, field=field, maximum=MAX_TOKEN_AMOUNT)


def round_down(value: Decimal, quantum: Decimal) -> Decimal:
    """Round towards negative infinity: used for whatever leaves the pool."""
    return value.quantize(quantum, rounding=ROUND_FLOOR, context=_ctx())


def round_up(value: Decimal, quantum: Decimal) -> Decimal:
    """Round towards positive infinity: used for whatever enters the pool."""
    return value.quantize(quantum, rounding=ROUND_CEILING, context=_ctx())


def mul(a: Decimal, b: Decimal) -> Decimal:
    return _ctx().multiply(a, b)


def div(a: Decimal, b: Decimal) -> Decimal:
    return _ctx().divide(a, b)


def canonical_text(value: Decimal) -> str:
    """Plain decimal text without trailing zeros or exponent, EXACT for any number of digits.

    ``Decimal.normalize()`` rounds to the context precision (28 digits by default), which would
    silently change an 18-decimal amount of 11+ integer digits; a context as wide as the value
    itself never rounds.
    """
    if value == 0:
        return "0"
    # ``format(value, "f")`` writes every digit (never rounds); dropping the fraction's trailing
    # zeros then gives what normalising in an exact context gives, without building a context
    # per call (this runs for every money bind parameter on SQLite and every chain encoding).
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text

