"""Display helpers (display only: nothing here is stored or computed with)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from core.money import fmt_cash

__all__ = ["fmt_cash", "fmt_nav", "fmt_pct", "fmt_qty"]


def fmt_qty(value: Decimal, places: int = 6) -> str:
    """A token quantity with at most ``places`` decimals, trailing zeros removed."""
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_nav(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_FLOOR)}"


def fmt_pct(fraction: Decimal) -> str:
    """0.0123 -> '+1.23%'."""
    return f"{(fraction * 100).quantize(Decimal('0.01')):+}%"
