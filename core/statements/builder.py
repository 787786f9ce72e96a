"""Build an organisation's monthly statement from the ledger (read only).

A statement covers the organisation's wallets (not the house wallet) from 00:00 UTC on the first of
the month to 00:00 UTC on the first of the next, or to now for the month in progress ("to date").
Values: cash (free + reserved) plus each token's units at the ledger's NAV at that moment
(:mod:`core.statements.history`), each holding's value rounded down to the cash quantum (what a
redemption would pay before fees). Every cash movement of the wallets is grouped by its ledger
transaction kind, so a new kind (a plan charge, a distribution, a bounty payout) appears on its own
line without any change here; :data:`LABELS` only names the kinds people know. The totals
reconcile: closing cash = opening cash + every group's net; closing units = opening units + trades.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.models import AccountKind, AIWallet, FeeAccrual, FeeKind, LedgerTransaction, Organisation
from core.models.audit import LiabilityLeaf, LiabilityPublication
from core.models.tokens import StrategyToken
from core.money import CASH_QUANTUM, ZERO, div, mul, round_down
from core.statements import history
from core.statements.performance import (
    RiskFreeRates,
    equal_weight_return,
    modified_dietz,
    tbill_return,
)

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

#: Names people read for the ledger's transaction kinds; any other kind is shown as it is named.
LABELS: dict[str, str] = {
    "deposit": "Deposits",
    "withdraw": "Withdrawals",
    "buy": "Token purchases (issued at NAV)",
    "redeem": "Token redemptions (at NAV)",
    "exchange.fill": "Exchange trades",
    "trade.cost": "Trading costs",
    "distribution.pay": "Distributions",
    "bounty.payout": "Bounty income",
}
#: Kind prefixes named as a family (``plan.charge``, ``plan.proration``, ... are all plan charges).
PREFIX_LABELS: dict[str, str] = {
    "plan": "Plan charges",
    "billing": "Plan charges",
    "subscription": "Plan charges",
    "bounty": "Bounty income",
    "distribution": "Distributions",
}


def label_of(kind: str) -> str:
    if kind in LABELS:
        return LABELS[kind]
    prefix = kind.split(".", 1)[0]
    return PREFIX_LABELS.get(prefix, kind)


@dataclass(frozen=True, slots=True)
class HoldingLine:
    symbol: str
    units: Decimal
    nav: Decimal
    value: Decimal  # units x NAV, rounded down to the cash quantum


@dataclass(frozen=True, slots=True)
class Valuation:
    at: datetime
    cash: Decimal
    holdings: list[HoldingLine]

    @property
    def value(self) -> Decimal:
        return self.cash + sum((h.value for h in self.holdings), ZERO)


@dataclass(frozen=True, slots=True)
class KindTotal:
    """One transaction kind's cash movements: ``cash_in`` >= 0, ``cash_out`` <= 0."""

    kind: str
    label: str
    count: int
    cash_in: Decimal
    cash_out: Decimal

    @property
    def net(self) -> Decimal:
        return self.cash_in + self.cash_out


@dataclass(frozen=True, slots=True)
class TradeLine:
    at: datetime
    kind: str
    symbol: str
    units: Decimal  # into the wallets (negative: sold / redeemed)
    cash: Decimal  # into the wallets (negative: paid)


@dataclass(frozen=True, slots=True)
class Fees:
    """Fees the organisation bore in the period (USD, non-negative)."""

    management_share: Decimal  # its pro-rata share of management fees taken from pools it held
    performance_share: Decimal  # likewise for performance fees
    trading_costs: Decimal  # rebalance commissions paid from its cash
    exchange_fees: Decimal  # exchange fees paid as buyer

    @property
    def total(self) -> Decimal:
        return self.management_share + self.performance_share + self.trading_costs + self.exchange_fees


@dataclass(frozen=True, slots=True)
class Performance:
    wallet: Decimal | None
    tbill: Decimal | None
    tbill_name: str
    tbill_missing_days: int
    equal_weight: Decimal | None
    equal_weight_symbols: list[str]
    external_flows: Decimal


@dataclass(frozen=True, slots=True)
class ProofInfo:
    as_of: date
    root: str
    chain_seq: int
    wallets_included: list[int]


@dataclass(frozen=True, slots=True)
class StatementData:
    org_id: int
    org_name: str
    month: str
    start: datetime
    end: datetime
    complete: bool
    generated_at: datetime
    wallet_ids: list[int]
    opening: Valuation
    closing: Valuation
    groups: list[KindTotal]
    trades: list[TradeLine]
    fees: Fees
    performance: Performance
    proof: ProofInfo | None
    notes: list[str] = field(default_factory=list)


def parse_month(text: str) -> tuple[datetime, datetime]:
    """``"2025-03"`` -> (2025-03-01 00:00 UTC, 2025-04-01 00:00 UTC); a bad month is one clear line."""
    m = MONTH_RE.match((text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ValidationError(f"month must look like 2025-03 (YYYY-MM), got {text!r}")
    year, month = int(m.group(1)), int(m.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_month(now: datetime) -> str:
    """The last complete month before ``now`` (``YYYY-MM``)."""
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def org_wallet_ids(session: Session, org_id: int) -> tuple[Organisation, list[int]]:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    ids = list(
        session.scalars(
            select(AIWallet.id)
            .where(AIWallet.organisation_id == org_id, AIWallet.is_house.is_(False))
            .order_by(AIWallet.id)
        )
    )
    if not ids:
        raise NotFound(f"organisation {org_id} has no wallet yet")
    return org, ids


def build_statement(
    session: Session, org_id: int, month: str, now: datetime, rates: RiskFreeRates | None
) -> StatementData:
    """Everything the statement shows, read from the ledger as of ``now``."""
    start, month_end = parse_month(month)
    if start > now:
        raise ValidationError(f"{month} has not started yet; a statement covers a past or current month")
    # A month in progress ends "now", and includes what happened at this very instant.
    end = month_end if month_end <= now else now + timedelta(microseconds=1)
    org, wallet_ids = org_wallet_ids(session, org_id)
    moves = history.movements(session, wallet_ids, start, end)
    open_pos = history.position_at(session, wallet_ids, start)
    close_pos = history.position_at(session, wallet_ids, end)
    touched = sorted(set(open_pos.units) | set(close_pos.units) | {t for m in moves for t in m.units})
    symbols = dict(session.execute(select(StrategyToken.id, StrategyToken.symbol)).all())
    opening = _valuation(session, open_pos, start)
    closing = _valuation(session, close_pos, end)
    notes: list[str] = []
    if end < month_end:
        notes.append(f"Month to date: the period ends {now.strftime('%Y-%m-%d %H:%M')} UTC.")
    return StatementData(
        org_id=org.id,
        org_name=org.name,
        month=month,
        start=start,
        end=end,
        complete=end == month_end,
        generated_at=now,
        wallet_ids=wallet_ids,
        opening=opening,
        closing=closing,
        groups=_groups(moves),
        trades=[
            TradeLine(m.at, m.kind, symbols.get(t, str(t)), q, m.cash)
            for m in moves
            for t, q in sorted(m.units.items())
        ],
        fees=_fees(session, wallet_ids, touched, moves, start, end),
        performance=_performance(session, opening, closing, moves, start, end, rates, notes),
        proof=_proof(session, wallet_ids, start.date(), end),
        notes=notes,
    )


def _valuation(session: Session, pos: history.Position, at: datetime) -> Valuation:
    states = history.token_states_at(session, list(pos.units), at)
    lines = []
    for token_id, units in sorted(pos.units.items(), key=lambda kv: states[kv[0]].symbol):
        nav = states[token_id].nav or ZERO
        lines.append(
            HoldingLine(states[token_id].symbol, units, nav, round_down(mul(units, nav), CASH_QUANTUM))
        )
    return Valuation(at, pos.cash, lines)


def _groups(moves: list[history.Movement]) -> list[KindTotal]:
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for m in moves:
        row = acc[m.kind]
        row[0] += 1
        row[1 if m.cash > 0 else 2] += m.cash
    return [
        KindTotal(kind, label_of(kind), int(row[0]), row[1], row[2])
        for kind, row in sorted(acc.items(), key=lambda kv: (label_of(kv[0]), kv[0]))
    ]


def _fees(
    session: Session,
    wallet_ids: list[int],
    token_ids: list[int],
    moves: list[history.Movement],
    start: datetime,
    end: datetime,
) -> Fees:
    shares = {FeeKind.MANAGEMENT: ZERO, FeeKind.PERFORMANCE: ZERO}
    if token_ids:
        accruals = session.execute(
            select(FeeAccrual.kind, FeeAccrual.fee_amount, FeeAccrual.token_id, LedgerTransaction.id)
            .join(LedgerTransaction, LedgerTransaction.id == FeeAccrual.transaction_id)
            .where(
                FeeAccrual.token_id.in_(token_ids),
                FeeAccrual.kind.in_(tuple(shares)),
                LedgerTransaction.created_at >= start,
                LedgerTransaction.created_at < end,
            )
            .order_by(LedgerTransaction.id)
        ).all()
        units_before = _units_before(session, wallet_ids, token_ids, end)
        for kind, fee, token_id, txn_id in accruals:
            held, circulating = units_before(token_id, txn_id)
            if held > 0 and circulating > 0:
                shares[FeeKind(kind)] += div(mul(fee, held), circulating)
    trading = -sum((m.cash for m in moves if m.kind == "trade.cost"), ZERO)
    exchange = sum(
        (
            m.counterparties.get(AccountKind.FEE_INCOME, ZERO)
            + m.counterparties.get(AccountKind.INSURANCE_FUND, ZERO)
            for m in moves
            if m.kind == "exchange.fill" and m.cash < 0
        ),
        ZERO,
    )
    q = CASH_QUANTUM
    return Fees(
        shares[FeeKind.MANAGEMENT].quantize(q, rounding=ROUND_HALF_EVEN),
        shares[FeeKind.PERFORMANCE].quantize(q, rounding=ROUND_HALF_EVEN),
        trading,
        exchange,
    )


def _units_before(
    session: Session, wallet_ids: list[int], token_ids: list[int], end: datetime
) -> Callable[[int, int], tuple[Decimal, Decimal]]:
    """A function (token id, txn id) -> (the wallets' units, circulating units) just before that
    transaction, from the postings (transaction ids order postings within a token)."""
    from core.models import LedgerAccount, Posting

    own: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for txn_id, _, _, kind, token_id, amount, _, _ in history.wallet_postings(session, wallet_ids, end):
        if kind in history.UNIT_KINDS and token_id is not None:
            own[token_id].append((txn_id, amount))
    unissued: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    rows = session.execute(
        select(LedgerAccount.token_id, Posting.transaction_id, Posting.amount)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.kind == AccountKind.TOKEN_UNISSUED, LedgerAccount.token_id.in_(token_ids))
        .order_by(Posting.transaction_id)
    ).all()
    for token_id, txn_id, amount in rows:
        if token_id is not None:
            unissued[token_id].append((txn_id, amount))
    supply = dict(session.execute(select(StrategyToken.id, StrategyToken.total_supply)).all())

    def before(token_id: int, txn_id: int) -> tuple[Decimal, Decimal]:
        held = sum((a for t, a in own[token_id] if t < txn_id), ZERO)
        left = sum((a for t, a in unissued[token_id] if t < txn_id), ZERO)
        return held, supply[token_id] - left

    return before


def _performance(
    session: Session,
    opening: Valuation,
    closing: Valuation,
    moves: list[history.Movement],
    start: datetime,
    end: datetime,
    rates: RiskFreeRates | None,
    notes: list[str],
) -> Performance:
    flows = [(m.at, m.cash) for m in moves if AccountKind.EXTERNAL in m.counterparties]
    wallet = modified_dietz(opening.value, closing.value, flows, start, end)
    if rates is None:
        tbill, name, missing = None, "not available in this deployment", 0
    else:
        tbill, missing = tbill_return(rates, start.date(), end.date())
        name = rates.name
        if missing:
            notes.append(f"The T-bill series has no rate on {missing} day(s) of the period; they count 0 %.")
    live = session.scalars(
        select(StrategyToken).where(
            StrategyToken.activated_at.is_not(None), StrategyToken.activated_at < start
        )
    ).all()
    ids = [t.id for t in live]
    at_open = history.token_states_at(session, ids, start)
    at_close = history.token_states_at(session, ids, end)
    navs: dict[str, tuple[Decimal, Decimal]] = {}
    for tid in ids:
        o, c = at_open[tid].nav, at_close[tid].nav
        if o is not None and c is not None:
            navs[at_open[tid].symbol] = (o, c)
    return Performance(
        wallet,
        tbill,
        name,
        missing,
        equal_weight_return(navs),
        sorted(navs),
        sum((a for _, a in flows), ZERO),
    )


def _proof(session: Session, wallet_ids: list[int], first: date, end: datetime) -> ProofInfo | None:
    """The latest proof of liabilities published during the period for a day of it, if any."""
    pub = session.scalars(
        select(LiabilityPublication)
        .where(
            LiabilityPublication.as_of >= first,
            LiabilityPublication.as_of <= (end - timedelta(microseconds=1)).date(),
            LiabilityPublication.published_at < end,
        )
        .order_by(LiabilityPublication.as_of.desc())
    ).first()
    if pub is None:
        return None
    included = session.scalars(
        select(LiabilityLeaf.wallet_id).where(
            LiabilityLeaf.publication_id == pub.id, LiabilityLeaf.wallet_id.in_(wallet_ids)
        )
    ).all()
    return ProofInfo(pub.as_of, pub.root_hash, pub.chain_seq, sorted(included))
