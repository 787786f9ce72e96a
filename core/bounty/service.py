"""The import bounty: 5 % of a submitted strategy's first-year net gains to holders, paid to the
submitter's organisation out of platform fee revenue.

* **Submitter.** :func:`record_submission_in` ties a source document to who submitted it: ``chat``
  (``/submit``), ``api`` (later) or ``crawl`` (the source's author, from the document's provenance;
  a crawled author is not an organisation, so it is recorded and earns nothing). The first
  submission of a document counts; a text the platform already had earns its submitter nothing.
* **Window and measure.** When a submitted strategy's token is activated, it gets a
  :class:`BountyState`: 365 days from its activation, a bounty high-water mark starting
  at the token's birth NAV (1.00). Each NAV mark in the window, in order, is measured: net gains to
  holders = ``(mark NAV - HWM) x circulating units at the mark`` when positive (NAV is after fees);
  the organisation earns ``floor(5 % x gain)`` to the cent-millionth; the HWM rises to the mark's NAV.
  A distribution lowers the HWM by the NAV it paid out (:func:`lower_hwm_in`), so paying holders
  is not a loss to make good.
* **Funding.** Earned amounts move from ``platform:fees`` (fee revenue, never a token pool or the
  insurance fund) to the organisation's ``org:ID:bounty`` payable account. When fee revenue cannot
  cover it, the rest is kept as ``unfunded`` and funded first at the next accrual.
* **Payout.** Monthly (job ``bounty_payouts``), each organisation's payable balance moves into its
  wallet's cash: one payout per organisation and month.

Accruals run after the day's NAV marks (job ``bounty_accruals``) and before each distribution; each
token's pass is keyed by the last NAV mark it measured, so running it twice measures nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.db import insert_if_absent
from core.errors import NotFound, ValidationError
from core.ledger.cash import wallet_cash_account
from core.ledger.locks import lock_token, lock_wallet
from core.ledger.postings import AccountRef, LedgerWriter, Leg, ensure_account, get_account, system_account
from core.models import CASH_ASSET, AccountKind, AIWallet, NavMark, StrategyToken
from core.models.money import BountyAccrual, BountyPayout, BountyState, StrategySubmission
from core.models.pipeline import SourceDocument, StrategyCandidate
from core.money import CASH_QUANTUM, ZERO, mul, round_down

BOUNTY_RATE = Decimal("0.05")
WINDOW = timedelta(days=365)
BIRTH_NAV = Decimal(1)
CHANNELS = ("chat", "api", "crawl")


def payable_code(organisation_id: int) -> str:
    return f"org:{organisation_id}:bounty"


def payable_account(session: Session, organisation_id: int, now: datetime) -> AccountRef:
    return ensure_account(
        session, payable_code(organisation_id), kind=AccountKind.BOUNTY_PAYABLE, asset=CASH_ASSET, now=now
    )


# --- submissions ---------------------------------------------------------------------------------


_SUBMISSIONS = cast(Table, StrategySubmission.__table__)
_STATES = cast(Table, BountyState.__table__)


def record_submission_in(
    session: Session,
    now: datetime,
    *,
    document_id: int,
    channel: str,
    organisation_id: int | None = None,
    user_id: int | None = None,
    author: str | None = None,
) -> tuple[StrategySubmission, bool]:
    """Record who submitted a document; returns (the submission, whether it is new). The first
    submission of a document stands."""
    if channel not in CHANNELS:
        raise ValidationError(f"submission channel must be one of {', '.join(CHANNELS)}")
    if session.get(SourceDocument, document_id) is None:
        raise NotFound(f"source document {document_id} does not exist")
    query = select(StrategySubmission).where(StrategySubmission.document_id == document_id)
    existing = session.scalars(query).one_or_none()
    if existing is not None:
        return existing, False
    row = {"document_id": document_id, "channel": channel, "organisation_id": organisation_id,
           "user_id": user_id, "author": (author or None) and author[:200], "created_at": now}
    # Two /submit of one text at once (or a /submit beside the accrual job's crawl record) both
    # found none; the loser died with a unique violation. The first stored submission stands.
    new = insert_if_absent(session, _SUBMISSIONS, row, ("document_id",))
    return session.scalars(query.execution_options(populate_existing=True)).one(), new


def register_states_in(session: Session, now: datetime) -> list[int]:
    """Start the bounty of every tokenized strategy whose submitter is an organisation (crawled
    documents without a submission get their author recorded); returns the new states' token ids."""
    rows = session.execute(
        select(StrategyCandidate.token_id, StrategyCandidate.document_id, SourceDocument.provenance)
        .join(SourceDocument, SourceDocument.id == StrategyCandidate.document_id)
        .where(StrategyCandidate.token_id.is_not(None))
    ).all()
    started: list[int] = []
    for token_id, document_id, provenance in rows:
        if token_id is None or session.get(BountyState, token_id) is not None:
            continue
        sub = session.scalars(
            select(StrategySubmission).where(StrategySubmission.document_id == document_id)
        ).one_or_none()
        if sub is None:
            author = str((provenance or {}).get("author") or "") or None
            if author is None:
                continue
            sub, _ = record_submission_in(
                session, now, document_id=document_id, channel="crawl", author=author
            )
        token = session.get(StrategyToken, token_id)
        if sub.organisation_id is None or token is None or token.activated_at is None:
            continue  # a proving token's window starts when it is activated (tokenized for trading)
        start = token.activated_at
        row = {"token_id": token_id, "submission_id": sub.id, "organisation_id": sub.organisation_id,
               "starts_at": start, "ends_at": start + WINDOW, "hwm_nav": BIRTH_NAV, "last_mark_id": None,
               "unfunded": ZERO, "updated_at": now}
        # Only the accrual job starts bounties, but a run taken over after a lost lease may still
        # overlap its first owner: the second start of a token's bounty stores nothing.
        if insert_if_absent(session, _STATES, row, ("token_id",)):
            started.append(token_id)
    session.flush()
    return started


# --- accrual -------------------------------------------------------------------------------------


def accrue_token_in(
    session: Session, now: datetime, token: StrategyToken, writer: LedgerWriter | None = None
) -> Decimal:
    """Measure the token's new NAV marks inside its window (the token is locked by the caller);
    returns what was funded into the organisation's payable account. With a caller's ``writer``
    the balances wait for the caller's flush (one flush per transaction: the lock order)."""
    state = session.get(BountyState, token.id)
    if state is None:
        return ZERO
    query = select(NavMark).where(
        NavMark.token_id == token.id,
        NavMark.as_of < state.ends_at.date(),
        NavMark.as_of >= state.starts_at.date(),
    )
    if state.last_mark_id is not None:
        query = query.where(NavMark.id > state.last_mark_id)
    marks = list(session.scalars(query.order_by(NavMark.as_of, NavMark.id)))
    if not marks:
        return ZERO
    measured: list[tuple[NavMark, Decimal, Decimal, Decimal]] = []  # mark, hwm before, gain, earned
    for mark in marks:
        before = state.hwm_nav
        if mark.nav_per_token > before:
            gain = mul(mark.nav_per_token - before, mark.circulating_supply)
            measured.append((mark, before, gain, round_down(mul(gain, BOUNTY_RATE), CASH_QUANTUM)))
            state.hwm_nav = mark.nav_per_token
        state.last_mark_id = mark.id
    owed = state.unfunded + sum((e for *_, e in measured), ZERO)
    fees = get_account(session, "platform:fees")
    funded = min(owed, fees.balance if fees is not None else ZERO)
    txn_id = None
    if funded > 0:
        own = writer is None
        writer = writer or LedgerWriter(session, now)
        txn_id = writer.post(
            "bounty.accrue",
            [
                Leg(system_account(session, "platform:fees", now), -funded),
                Leg(payable_account(session, state.organisation_id, now), funded),
            ],
            token_id=token.id,
            details={"organisation": state.organisation_id, "marks": len(measured)},
        ).id
        if own:
            writer.flush()
    left = funded - state.unfunded if funded > state.unfunded else ZERO  # earlier shortfall first
    for mark, before, gain, earned in measured:
        part = min(earned, left)
        left -= part
        session.add(
            BountyAccrual(
                token_id=token.id,
                organisation_id=state.organisation_id,
                nav_mark_id=mark.id,
                hwm_before=before,
                nav=mark.nav_per_token,
                circulating=mark.circulating_supply,
                gain=gain,
                earned=earned,
                funded=part,
                transaction_id=txn_id,
                created_at=now,
            )
        )
    state.unfunded = owed - funded
    state.updated_at = now
    session.flush()
    return funded


def lower_hwm_in(session: Session, token: StrategyToken, drop: Decimal) -> None:
    """A distribution paid ``drop`` per unit out of NAV: the bounty's HWM falls by as much."""
    state = session.get(BountyState, token.id)
    if state is not None and drop > 0:
        state.hwm_nav = max(ZERO, state.hwm_nav - drop)


def bounty_tokens(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(StrategyToken.symbol)
            .join(BountyState, BountyState.token_id == StrategyToken.id)
            .order_by(StrategyToken.symbol)
        )
    )


def accrue_symbol_in(session: Session, now: datetime, symbol: str) -> Decimal:
    return accrue_token_in(session, now, lock_token(session, symbol))


# --- payout --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payout:
    organisation_id: int
    wallet_id: int | None
    amount: Decimal
    already: bool


def payout_wallets(session: Session, organisation_ids: list[int]) -> dict[int, int]:
    """Organisation id -> the wallet its bounty is paid into (its first organisation wallet);
    organisations without a wallet are left out. The proof of liabilities shows a payable there."""
    rows = session.execute(
        select(AIWallet.organisation_id, AIWallet.id)
        .where(AIWallet.organisation_id.in_(organisation_ids), AIWallet.is_house.is_(False))
        .order_by(AIWallet.id)
    )
    found: dict[int, int] = {}
    for organisation_id, wallet_id in rows:
        if organisation_id is not None:  # the filter keeps only these; the column is nullable
            found.setdefault(int(organisation_id), int(wallet_id))
    return found


def pay_org_in(session: Session, now: datetime, organisation_id: int, period: str) -> Payout | None:
    """Move the organisation's bounty payable into its wallet for ``period`` (once per month);
    ``None`` when there is nothing to pay or no wallet to pay into (it stays accrued)."""
    wallet_id = payout_wallets(session, [organisation_id]).get(organisation_id)
    if wallet_id is None:
        return None
    wallet = lock_wallet(session, wallet_id)
    # Looked up under the wallet's lock: a payer that held it first has committed its row, so
    # two payers of one month cannot both find none (the second would pay newer accruals and die
    # on the unique (organisation, period) key).
    done = session.scalars(
        select(BountyPayout).where(
            BountyPayout.organisation_id == organisation_id, BountyPayout.period == period
        )
    ).one_or_none()
    if done is not None:
        return Payout(organisation_id, done.wallet_id, done.amount, True)
    account = get_account(session, payable_code(organisation_id))
    amount = account.balance if account is not None else ZERO
    if amount <= 0:
        return None
    writer = LedgerWriter(session, now)
    txn = writer.post(
        "bounty.payout",
        [
            Leg(payable_account(session, organisation_id, now), -amount),
            Leg(wallet_cash_account(session, wallet, now), amount),
        ],
        wallet_id=wallet.id,
        details={"organisation": organisation_id, "period": period},
    )
    writer.flush()
    wallet.cash += amount
    session.add(
        BountyPayout(
            organisation_id=organisation_id,
            period=period,
            wallet_id=wallet.id,
            amount=amount,
            transaction_id=txn.id,
            created_at=now,
        )
    )
    session.flush()
    return Payout(organisation_id, wallet.id, amount, False)


def organisations_owed(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(BountyState.organisation_id))))


# --- what /bounties shows ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenBounty:
    symbol: str
    ends_at: datetime
    earned: Decimal
    funded: Decimal


@dataclass(frozen=True, slots=True)
class BountyReport:
    """An organisation's bounty: per token earned and funded; accrued = payable balance (funded,
    not yet paid); unfunded = earned but not yet covered by fee revenue; paid = paid into its wallet."""

    tokens: list[TokenBounty]
    accrued: Decimal
    unfunded: Decimal
    paid: Decimal
    submissions: int


def bounty_report(session: Session, organisation_id: int) -> BountyReport:
    states = session.execute(
        select(BountyState, StrategyToken.symbol)
        .join(StrategyToken, StrategyToken.id == BountyState.token_id)
        .where(BountyState.organisation_id == organisation_id)
        .order_by(StrategyToken.symbol)
    ).all()
    tokens = []
    for state, symbol in states:
        rows = session.execute(
            select(BountyAccrual.earned, BountyAccrual.funded).where(BountyAccrual.token_id == state.token_id)
        ).all()
        tokens.append(
            TokenBounty(
                symbol, state.ends_at, sum((r[0] for r in rows), ZERO), sum((r[1] for r in rows), ZERO)
            )
        )
    account = get_account(session, payable_code(organisation_id))
    paid = sum(
        session.scalars(select(BountyPayout.amount).where(BountyPayout.organisation_id == organisation_id)),
        ZERO,
    )
    submissions = len(
        session.scalars(
            select(StrategySubmission.id).where(StrategySubmission.organisation_id == organisation_id)
        ).all()
    )
    return BountyReport(
        tokens,
        account.balance if account is not None else ZERO,
        sum((s.unfunded for s, _ in states), ZERO),
        paid,
        submissions,
    )
