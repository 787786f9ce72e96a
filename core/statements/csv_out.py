"""The statement as CSV: one row per figure, exact decimals (not display-rounded), for spreadsheets
and for reconciling with the ledger.

Columns: ``section, item, kind, date, symbol, units, nav, amount, cash_in, cash_out, count, text``.
Amounts are USD, units token units, NAV USD per unit, returns fractions (0.0123 = 1.23 %), all as
plain decimal text at full ledger precision without trailing zeros (``core.money.canonical_text``:
the same text on every database); times are ISO 8601 UTC.
Sections: ``summary``, ``movement`` (one row per ledger transaction kind, then ``total``),
``trade``, ``holding_open``, ``holding_close``, ``fees``, ``performance``, ``proof``, ``note``.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from core.money import ZERO, canonical_text
from core.statements.builder import StatementData

COLUMNS = (
    "section",
    "item",
    "kind",
    "date",
    "symbol",
    "units",
    "nav",
    "amount",
    "cash_in",
    "cash_out",
    "count",
    "text",
)


def _d(value: Decimal | None) -> str:
    # Canonical text (no trailing zeros): PostgreSQL returns NUMERIC(38,18) balances with their scale
    # (5000.000000000000000000), SQLite its stored text (5000); the same statement must read the same.
    return "" if value is None else canonical_text(value)


def render_csv(data: StatementData) -> bytes:
    """The CSV document (UTF-8, ``\\r\\n`` line ends as the csv module writes them)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS)
    w.writeheader()

    def row(section: str, item: str, **cells: object) -> None:
        w.writerow({"section": section, "item": item, **{k: v for k, v in cells.items() if v is not None}})

    row("summary", "organisation", text=data.org_name, count=data.org_id)
    row("summary", "period", date=data.start.isoformat(), text=data.end.isoformat())
    row("summary", "opening cash", date=data.start.isoformat(), amount=_d(data.opening.cash))
    row("summary", "opening value", date=data.start.isoformat(), amount=_d(data.opening.value))
    row("summary", "closing cash", date=data.end.isoformat(), amount=_d(data.closing.cash))
    row("summary", "closing value", date=data.end.isoformat(), amount=_d(data.closing.value))
    for g in data.groups:
        row(
            "movement",
            g.label,
            kind=g.kind,
            amount=_d(g.net),
            cash_in=_d(g.cash_in),
            cash_out=_d(g.cash_out),
            count=g.count,
        )
    row(
        "movement",
        "total",
        amount=_d(sum((g.net for g in data.groups), ZERO)),
        count=sum(g.count for g in data.groups),
    )
    for t in data.trades:
        row(
            "trade",
            t.kind,
            kind=t.kind,
            date=t.at.isoformat(),
            symbol=t.symbol,
            units=_d(t.units),
            amount=_d(t.cash),
        )
    for section, valuation in (("holding_open", data.opening), ("holding_close", data.closing)):
        for h in valuation.holdings:
            row(
                section,
                h.symbol,
                date=valuation.at.isoformat(),
                symbol=h.symbol,
                units=_d(h.units),
                nav=_d(h.nav),
                amount=_d(h.value),
            )
    f = data.fees
    for item, value in (
        ("management fee share", f.management_share),
        ("performance fee share", f.performance_share),
        ("trading costs", f.trading_costs),
        ("exchange fees", f.exchange_fees),
        ("total", f.total),
    ):
        row("fees", item, amount=_d(value))
    p = data.performance
    row("performance", "wallet return (Modified Dietz)", amount=_d(p.wallet))
    row("performance", "external flows", amount=_d(p.external_flows))
    row("performance", "T-bill return", amount=_d(p.tbill), text=p.tbill_name, count=p.tbill_missing_days)
    row(
        "performance", "equal weight return", amount=_d(p.equal_weight), text=" ".join(p.equal_weight_symbols)
    )
    if data.proof is not None:
        row(
            "proof",
            "root",
            date=data.proof.as_of.isoformat(),
            text=data.proof.root,
            count=data.proof.chain_seq,
        )
    for note in data.notes:
        row("note", "note", text=note)
    return buf.getvalue().encode("utf-8")
