"""Daily digest content: value and change, per-token performance, allocation vs target and drift,
pending approvals, a 30-day chart against equal weight, and the disclosure footer.

Split in two so the renderer can be benchmarked alone: :func:`load_digest` reads the database into
a plain :class:`DigestData`; :func:`render_digest` turns it into a :class:`Reply` (text + PNG).
Money is ``Decimal`` throughout; only the chart's pixel series are floats. Changes are fractions.
Wallet history assumes today's holdings were held all 30 days (a digest of the current allocation,
not an account statement); equal weight splits the same starting value evenly across those tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.liabilities import published_root
from core.commands.types import Attachment, Reply
from core.compliance.disclosures import FOOTER
from core.digest.chart import render_chart
from core.models.tokens import NavMark, StrategyToken, TokenHolding, TokenStatus
from core.models.wallets import AIWallet, AllocationSnapshot
from core.money import ZERO, div, fmt_cash, mul

DAYS = 30


@dataclass(frozen=True, slots=True)
class TokenLine:
    symbol: str
    value: Decimal
    weight: Decimal
    target: Decimal | None
    change_1d: Decimal | None
    change_30d: Decimal | None


@dataclass(frozen=True, slots=True)
class DigestData:
    wallet_id: int
    wallet_name: str
    mode: str
    as_of: date
    value: Decimal
    value_prev: Decimal | None
    cash: Decimal
    cash_weight: Decimal
    tokens: list[TokenLine]
    drift: Decimal | None
    pending: list[str] = field(default_factory=list)
    wallet_index: list[float] = field(default_factory=list)
    equal_index: list[float] = field(default_factory=list)
    proof: str | None = None  # the latest proof of liabilities (root and ledger chain head)


def _pct(fraction: Decimal | None) -> str:
    return "n/a" if fraction is None else f"{(fraction * 100).quantize(Decimal('0.01')):+}%"


def _weight(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.1'))}%"


def _nav_series(marks: dict[date, Decimal], current: Decimal, days: list[date]) -> list[Decimal]:
    """Daily NAV over ``days``: forward-filled marks, back-filled before the first, today = current."""
    series: list[Decimal] = []
    last: Decimal | None = None
    for day in days:
        last = marks.get(day, last)
        series.append(last if last is not None else ZERO)
    first_known = next((v for v in series if v > 0), current)
    series = [v if v > 0 else first_known for v in series]
    series[-1] = current
    return series


def _change(series: list[Decimal], back: int) -> Decimal | None:
    if len(series) <= back or series[-1 - back] <= 0:
        return None
    return div(series[-1], series[-1 - back]) - 1


def load_digest(
    session: Session, wallet: AIWallet, now: datetime, pending: list[str] | None = None
) -> DigestData:
    """Read everything the digest shows for one wallet."""
    today = now.date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    held = session.execute(
        select(TokenHolding, StrategyToken)
        .join(StrategyToken, TokenHolding.token_id == StrategyToken.id)
        .where(TokenHolding.wallet_id == wallet.id, TokenHolding.quantity > 0)
        .order_by(StrategyToken.symbol)
    ).all()
    tokens = [token for _, token in held]
    if not tokens:  # nothing held: compare cash against an equal-weight basket of active tokens
        tokens = list(
            session.scalars(select(StrategyToken).where(StrategyToken.status == TokenStatus.ACTIVE))
        )
    marks: dict[int, dict[date, Decimal]] = {t.id: {} for t in tokens}
    if tokens:
        for mark in session.scalars(
            select(NavMark).where(
                NavMark.token_id.in_(marks), NavMark.as_of >= days[0], NavMark.as_of <= today
            )
        ):
            marks[mark.token_id][mark.as_of] = mark.nav_per_token
    navs = {t.id: _nav_series(marks[t.id], t.nav_per_token, days) for t in tokens}
    quantities = {token.id: holding.quantity for holding, token in held}
    values = [
        wallet.cash + sum((mul(q, navs[tid][i]) for tid, q in quantities.items()), ZERO) for i in range(DAYS)
    ]
    total = values[-1]
    snapshot = session.scalar(
        select(AllocationSnapshot)
        .where(AllocationSnapshot.wallet_id == wallet.id)
        .order_by(AllocationSnapshot.id.desc())
    )
    targets = {str(k): Decimal(str(v)) for k, v in (snapshot.weights if snapshot else {}).items()}
    lines: list[TokenLine] = []
    for holding, token in held:
        value = mul(holding.quantity, token.nav_per_token)
        weight = div(value, total) if total > 0 else ZERO
        series = navs[token.id]
        lines.append(
            TokenLine(
                token.symbol,
                value,
                weight,
                targets.get(token.symbol),
                _change(series, 1),
                _change(series, DAYS - 1),
            )
        )
    cash_weight = div(wallet.cash, total) if total > 0 else Decimal(1)
    drift = None
    if snapshot is not None:
        current = {line.symbol: line.weight for line in lines}
        symbols = set(current) | set(targets)
        l1 = sum((abs(current.get(s, ZERO) - targets.get(s, ZERO)) for s in symbols), ZERO)
        l1 += abs(cash_weight - snapshot.cash_weight)
        drift = l1 / 2
    base = values[0] if values[0] > 0 else Decimal(1)
    wallet_index = [float(div(v, base) * 100) for v in values]
    equal_index = [
        float(sum((div(navs[t.id][i], navs[t.id][0]) for t in tokens), ZERO) / len(tokens) * 100)
        if tokens
        else 100.0
        for i in range(DAYS)
    ]
    return DigestData(
        wallet.id,
        wallet.name,
        wallet.mode.value,
        today,
        total,
        values[-2],
        wallet.cash,
        cash_weight,
        lines,
        drift,
        list(pending or []),
        wallet_index,
        equal_index,
        proof_line(session),
    )


def proof_line(session: Session) -> str | None:
    """The footer line naming the latest published proof of liabilities, if any."""
    root = published_root(session)
    if root is None:
        return None
    return (f"Proof of liabilities {root.as_of.isoformat()}: root {root.root[:16]}…, ledger chain head "
            f"#{root.chain_seq} {root.chain_hash[:16]}…; /proof sends yours to verify")


def render_digest(data: DigestData) -> Reply:
    """Digest text and chart for one wallet."""
    change = div(data.value, data.value_prev) - 1 if data.value_prev and data.value_prev > 0 else None
    out = [
        f"Daily digest - {data.wallet_name} (wallet #{data.wallet_id}), {data.as_of.isoformat()}",
        f"Value: {fmt_cash(data.value)} ({_pct(change)} today), mode {data.mode}",
    ]
    if data.tokens:
        out.append("Holdings (weight / target, 1 day, 30 days):")
        for t in data.tokens:
            target = _weight(t.target) if t.target is not None else "-"
            out.append(
                f"  {t.symbol}: {fmt_cash(t.value)} ({_weight(t.weight)} / {target}), "
                f"{_pct(t.change_1d)}, {_pct(t.change_30d)}"
            )
    else:
        out.append("No token holdings yet: see /tokens and /buy.")
    out.append(f"Cash: {fmt_cash(data.cash)} ({_weight(data.cash_weight)})")
    if data.drift is not None:
        out.append(f"Drift from target: {_weight(data.drift)} (rebalance above 10%)")
    if data.pending:
        out.append("Awaiting your approval:")
        out.extend(f"  {line}" for line in data.pending)
    out.append(
        f"30 days: wallet {_index_change(data.wallet_index)}, equal weight {_index_change(data.equal_index)}"
    )
    if data.proof:
        out += ["", data.proof]
    out += ["", FOOTER]
    chart = render_chart(data.wallet_index, data.equal_index)
    attachment = Attachment(
        f"digest-{data.wallet_id}-{data.as_of.isoformat()}.png", chart, caption="Last 30 days vs equal weight"
    )
    return Reply("\n".join(out), attachments=[attachment])


def _index_change(series: list[float]) -> str:
    if not series or series[0] == 0:
        return "n/a"
    return f"{(series[-1] / series[0] - 1) * 100:+.2f}%"


def digest_for_wallet(
    session: Session, wallet: AIWallet, now: datetime, pending: list[str] | None = None
) -> Reply:
    """Load and render one wallet's digest."""
    return render_digest(load_digest(session, wallet, now, pending))
