"""The import bounty over hand-computed NAV marks, on SQLite and PostgreSQL.

Management fee 0; performance fee 10 % above the HWM (5 % of each fee to the insurance fund, the rest
is fee revenue, ``platform:fees``). Faith Church submitted the strategy; the token is born active on
2025-01-01 (seed 100 units at NAV 1, the house's) and Grace Chapel buys 1,000 units: 1,100 circulating.

* Jan 2, +10 %: pool 1,210; fee 11 (revenue 10.45) -> pool 1,199, NAV 1.09. Bounty: net gain to
  holders (1.09 - 1) x 1,100 = 99 -> 5 % = 4.95; HWM 1.09.
* Jan 3, -5 %: -59.95 -> pool 1,139.05, NAV 1.0355: under the HWM, nothing.
* Jan 4, +10 %: +113.905 -> 1,252.955; fee 10 % x (1.13905 - 1.09) x 1,100 = 5.3955 (revenue
  5.125725) -> pool 1,247.5595, NAV 1.134145. Bounty: (1.134145 - 1.09) x 1,100 = 48.5595 -> 2.427975.
* Funded 4.95 + 2.427975 = 7.377975 from fee revenue (10.45 + 5.125725 = 15.575725 -> 8.19775 left);
  the pool (the holders) is untouched. Feb 1: 7.377975 paid into Faith Church's wallet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ledger
from core.bounty import bounty_report, payable_code, record_submission_in
from core.bounty.jobs import accrue_all, pay_all
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.models import StrategyToken
from core.models.money import BountyAccrual, BountyState, StrategySubmission
from core.models.pipeline import CandidateState, SourceDocument, StrategyCandidate
from core.notify import CollectingNotifier
from tests.support.ledger_world import (
    account_balance,
    key,
    make_org,
    make_token,
    make_user,
    make_wallet,
    token_state,
    violations,
    wallet_cash,
)

pytestmark = pytest.mark.usefixtures("pure_ledger")

SYM = "STRAT-MOMENTUM-BTC-001"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def no_management_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def tokenized_document(db: Database, symbol: str, provenance: dict[str, str] | None = None) -> int:
    """A source document whose candidate became ``symbol``; returns the document id."""
    make_token(db, symbol)
    with db.uow() as uow:
        s, now = uow.session, uow.clock.now()
        doc = SourceDocument(
            source="chat",
            kind="text",
            url=f"submission:{symbol}",
            content_hash=symbol.ljust(64, "0"),
            title=symbol,
            text="buy the dip",
            provenance=provenance or {},
            fetched_at=now,
            created_at=now,
        )
        s.add(doc)
        s.flush()
        token_id = s.scalar(select(StrategyToken.id).where(StrategyToken.symbol == symbol))
        s.add(
            StrategyCandidate(
                document_id=doc.id,
                state=CandidateState.TOKENIZED,
                token_id=token_id,
                token_symbol=symbol,
                created_at=now,
                updated_at=now,
            )
        )
        doc_id = doc.id
        uow.commit()
    return doc_id


@pytest.fixture
def world(any_db: Database, clock: SimulatedClock, no_management_fee: None) -> tuple[Database, int, int, int]:
    db = any_db
    faith = make_org(db, "Faith Church")
    faith_wallet = make_wallet(db, faith, cash="100", owner_user_ids=[make_user(db, 601, faith)])
    doc = tokenized_document(db, SYM)
    with db.uow() as uow:
        record_submission_in(
            uow.session, uow.clock.now(), document_id=doc, channel="chat", organisation_id=faith
        )
        uow.commit()
    grace_wallet = make_wallet(db, make_org(db, "Grace Chapel"), cash="5000")
    ledger.buy(db.uow(), grace_wallet, SYM, "1000", idempotency_key=key())
    for day, r in (("2025-01-02", "0.10"), ("2025-01-03", "-0.05"), ("2025-01-04", "0.10")):
        clock.set(at(day + "T18:00"))
        ledger.mark_nav(db.uow(), SYM, date.fromisoformat(day), r)
    return db, faith, faith_wallet, grace_wallet


def test_three_marks_by_hand(world: tuple[Database, int, int, int], clock: SimulatedClock) -> None:
    db, faith, faith_wallet, _ = world
    assert token_state(db, SYM)["nav"] == Decimal("1.134145")
    fees_before = account_balance(db, "platform:fees")
    assert fees_before == Decimal("15.575725")
    pool_before = token_state(db, SYM)["aum"]
    clock.set(at("2025-01-05T00:40"))
    detail = accrue_all(db)
    assert detail["funded"] == {SYM: "7.377975"} and detail["started"] == [1]
    with db.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(BountyAccrual.gain, BountyAccrual.earned, BountyAccrual.funded).order_by(BountyAccrual.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (Decimal(99), Decimal("4.95"), Decimal("4.95")),
        (Decimal("48.5595"), Decimal("2.427975"), Decimal("2.427975")),
    ]
    assert account_balance(db, payable_code(faith)) == Decimal("7.377975")
    assert account_balance(db, "platform:fees") == Decimal("8.19775")
    assert token_state(db, SYM)["aum"] == pool_before  # never from holders
    assert accrue_all(db)["funded"] == {SYM: "0"}  # the same marks are not measured twice

    clock.set(at("2025-02-01T01:10"))
    notifier = CollectingNotifier()
    paid = pay_all(db, "2025-01", notifier)
    assert paid["paid"] == {f"org:{faith}": "7.377975"}
    assert wallet_cash(db, faith_wallet) == Decimal("107.377975")
    assert account_balance(db, payable_code(faith)) == 0
    assert [m.chat_id for m in notifier.messages] == [601] and "$7.38" in notifier.messages[0].reply.text
    assert pay_all(db, "2025-01", notifier)["paid"] == {f"org:{faith}": "7.377975"}  # once per month
    assert wallet_cash(db, faith_wallet) == Decimal("107.377975") and len(notifier.messages) == 1
    with db.uow(read_only=True) as uow:
        report = bounty_report(uow.session, faith)
    assert (report.accrued, report.paid, report.unfunded, report.submissions) == (
        0,
        Decimal("7.377975"),
        0,
        1,
    )
    assert [(t.symbol, t.earned) for t in report.tokens] == [(SYM, Decimal("7.377975"))]
    assert violations(db) == []


def test_the_window_is_365_days(world: tuple[Database, int, int, int], clock: SimulatedClock) -> None:
    db, faith, _, _ = world
    accrue_all(db)
    clock.set(at("2026-01-01T18:00"))  # the token was born 2025-01-01 00:00: day 366 is outside
    ledger.mark_nav(db.uow(), SYM, date(2026, 1, 1), "0.20")
    assert accrue_all(db)["funded"] == {SYM: "0"}
    assert account_balance(db, payable_code(faith)) == Decimal("7.377975")


def test_unfunded_when_fee_revenue_is_short(
    any_db: Database, clock: SimulatedClock, no_management_fee: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No performance fee, so no fee revenue: the 5 % (of 1,100 x 0.1 = 110: 5.5) waits, unfunded;
    nothing is taken from anyone and the ledger holds."""
    monkeypatch.setenv("ARENA_PERFORMANCE_FEE_RATE", "0")
    get_settings.cache_clear()
    db = any_db
    faith = make_org(db, "Faith Church")
    doc = tokenized_document(db, SYM)
    with db.uow() as uow:
        record_submission_in(
            uow.session, uow.clock.now(), document_id=doc, channel="chat", organisation_id=faith
        )
        uow.commit()
    ledger.buy(db.uow(), make_wallet(db, make_org(db, "Grace Chapel")), SYM, "1000", idempotency_key=key())
    clock.set(at("2025-01-02T18:00"))
    ledger.mark_nav(db.uow(), SYM, date(2025, 1, 2), "0.10")
    assert accrue_all(db)["funded"] == {SYM: "0"}
    with db.uow(read_only=True) as uow:
        state = uow.session.get(BountyState, 1)
        assert state is not None and state.unfunded == Decimal("5.5")
        assert bounty_report(uow.session, faith).unfunded == Decimal("5.5")
    assert account_balance(db, payable_code(faith)) == 0 and violations(db) == []


def test_crawled_author_is_recorded_and_earns_nothing(any_db: Database) -> None:
    db = any_db
    tokenized_document(db, SYM, provenance={"author": "satoshi_fan"})
    assert accrue_all(db)["started"] == []
    with db.uow(read_only=True) as uow:
        sub = uow.session.scalars(select(StrategySubmission)).one()
        assert (sub.channel, sub.author, sub.organisation_id) == ("crawl", "satoshi_fan", None)


def test_first_submission_stands(any_db: Database) -> None:
    db = any_db
    doc = tokenized_document(db, SYM)
    first, second = make_org(db, "First"), make_org(db, "Second")
    with db.uow() as uow:
        a, new_a = record_submission_in(
            uow.session, uow.clock.now(), document_id=doc, channel="chat", organisation_id=first
        )
        b, new_b = record_submission_in(
            uow.session, uow.clock.now(), document_id=doc, channel="api", organisation_id=second
        )
        assert (new_a, new_b, b.id, b.organisation_id) == (True, False, a.id, first)


def test_a_distribution_lowers_the_bounty_hwm(
    any_db: Database, clock: SimulatedClock, no_management_fee: None
) -> None:
    """Jan 2 +10 %: NAV 1.09, bounty 4.95 (HWM 1.09). Feb 1 the token (distributing its gains from
    base 1) pays 0.09 per unit: NAV 1, the bounty's HWM 1.09 - 0.09 = 1. Feb 2 +5 %: 1,155, fee 5.5 ->
    NAV 1.045; the bounty earns 5 % of (1.045 - 1) x 1,100 = 49.5: 2.475 (not nothing, as it would
    against the old HWM)."""
    from core import distributions

    db = any_db
    faith = make_org(db, "Faith Church")
    doc = tokenized_document(db, SYM)
    with db.uow() as uow:
        record_submission_in(
            uow.session, uow.clock.now(), document_id=doc, channel="chat", organisation_id=faith
        )
        uow.commit()
    distributions.set_policy(db.uow(), SYM, "distribute", include_gains=True, idempotency_key=key("p"))
    ledger.buy(db.uow(), make_wallet(db, make_org(db, "Grace Chapel")), SYM, "1000", idempotency_key=key())
    accrue_all(db)  # starts the bounty
    clock.set(at("2025-01-02T18:00"))
    ledger.mark_nav(db.uow(), SYM, date(2025, 1, 2), "0.10")
    clock.set(at("2025-02-01T01:00"))
    paid = distributions.distribute(db.uow(), SYM, "2025-01")  # measures the bounty first
    assert paid is not None and paid.per_unit == Decimal("0.09") and paid.amount == Decimal(99)
    assert account_balance(db, payable_code(faith)) == Decimal("4.95")
    with db.uow(read_only=True) as uow:
        state = uow.session.get(BountyState, 1)
        assert state is not None and state.hwm_nav == Decimal(1)
    clock.set(at("2025-02-02T18:00"))
    ledger.mark_nav(db.uow(), SYM, date(2025, 2, 2), "0.05")
    assert accrue_all(db)["funded"] == {SYM: "2.475"}
    assert account_balance(db, payable_code(faith)) == Decimal("7.425") and violations(db) == []


def test_the_window_starts_at_activation(any_db: Database, clock: SimulatedClock) -> None:
    """A proving token earns no bounty; its 365 days start when it is activated."""
    from sqlalchemy import update

    db = any_db
    ledger.tokenize(
        db.uow(),
        agent_id=None,
        symbol=SYM,
        total_supply="1000000",
        status="proving",
        idempotency_key=key("t"),
    )
    faith = make_org(db, "Faith Church")
    with db.uow() as uow:
        s, now = uow.session, uow.clock.now()
        doc = SourceDocument(
            source="chat",
            kind="text",
            url="submission:x",
            content_hash="x" * 64,
            title="x",
            text="x",
            provenance={},
            fetched_at=now,
            created_at=now,
        )
        s.add(doc)
        s.flush()
        s.add(
            StrategyCandidate(
                document_id=doc.id,
                state=CandidateState.TOKENIZED,
                token_id=1,
                token_symbol=SYM,
                created_at=now,
                updated_at=now,
            )
        )
        record_submission_in(s, now, document_id=doc.id, channel="chat", organisation_id=faith)
        uow.commit()
    assert accrue_all(db)["started"] == []
    clock.set(at("2025-02-01"))
    with db.uow() as uow:
        uow.session.execute(update(StrategyToken).values(status="active", activated_at=clock.now()))
        uow.commit()
    assert accrue_all(db)["started"] == [1]
    with db.uow(read_only=True) as uow:
        state = uow.session.get(BountyState, 1)
        assert state is not None and state.ends_at == at("2026-02-01")


def test_an_unpaid_bounty_is_in_the_proof_of_liabilities(
    world: tuple[Database, int, int, int], clock: SimulatedClock
) -> None:
    """The platform owes Faith its accrued bounty (7.377975 USD, worked out in the test above) until
    the monthly payout: its proof shows it under ``USD:bounty`` in the wallet the payout pays into,
    the root's total equals the payable account, and every proof still verifies. After the payout
    the amount has moved to Faith's cash and the bounty column is zero."""
    from core.audit import merkle
    from core.audit.liabilities import proof_for, publish

    db, faith, faith_wallet, grace_wallet = world
    clock.set(at("2025-01-05T00:40"))
    accrue_all(db)
    root = publish(db)
    assert root.assets[:2] == ["USD", "USD:bounty"]
    owed = account_balance(db, payable_code(faith))
    assert Decimal(root.totals["USD:bounty"]) == Decimal("7.377975") == owed
    with db.uow(read_only=True) as uow:
        faith_proof = proof_for(uow.session, faith_wallet)
        grace_proof = proof_for(uow.session, grace_wallet)
    assert Decimal(faith_proof["balances"]["USD:bounty"]) == Decimal("7.377975")
    assert Decimal(faith_proof["balances"]["USD"]) == 100  # its cash, unchanged until the payout
    assert faith_proof["decimals"]["USD:bounty"] == 6
    assert Decimal(grace_proof["balances"]["USD:bounty"]) == 0
    assert merkle.verify(faith_proof, root.root).ok and merkle.verify(grace_proof, root.root).ok

    clock.set(at("2025-02-01T01:10"))
    pay_all(db, "2025-01", CollectingNotifier())
    after = publish(db)
    with db.uow(read_only=True) as uow:
        paid_proof = proof_for(uow.session, faith_wallet)
    assert Decimal(after.totals["USD:bounty"]) == 0
    paid = paid_proof["balances"]
    assert (Decimal(paid["USD"]), Decimal(paid["USD:bounty"])) == (Decimal("107.377975"), 0)
    assert merkle.verify(paid_proof, after.root).ok
    assert violations(db) == []
