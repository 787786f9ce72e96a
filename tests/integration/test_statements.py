"""Monthly statements over a hand-computed world, on SQLite and PostgreSQL.

The world (management fee 0 so every figure is exact by hand; performance fee 10 %, 5 % of it to
the insurance fund; tokens seeded with 100 USD at NAV 1):

* 2025-01-01 00:00  tokens A and B are tokenized (active); Grace Chapel's wallet gets 10,000.
* 2025-01-10        the wallet buys A for 1,000 -> 1,000 units (pool 1,100, 1,100 units).
* 2025-02-10        A marked +10 %: pool 1,210; performance fee 10 % of (1.10 - 1.00) x 1,100 = 11
                    -> pool 1,199, NAV 1,199 / 1,100 = 1.09. The wallet's share: 11 x 1,000 / 1,100 = 10.
* 2025-02-12        B marked +5 %: pool 105, fee 0.5 -> 104.5, NAV 1.045 (only the house holds B).
* 2025-02-15 00:00  deposit 2,800 (half of February left).
* 2025-02-20        redeem 500 A at 1.09 -> 545 cash; the proof of liabilities is published.
* 2025-02-25 00:00  withdraw 1,000 (4 of 28 days left).

February: opening value 9,000 + 1,000 x 1 = 10,000; closing cash 9,000 + 2,800 + 545 - 1,000 = 11,345,
plus 500 A x 1.09 = 545 -> 11,890. Modified Dietz: (11,890 - 10,000 - 1,800) /
(10,000 + 2,800 x 1/2 - 1,000 x 1/7) = 90 / (78,800 / 7) = 63 / 7,880. Equal weight: A +9 %, B +4.5 %
-> +6.75 %. T-bill: 3.65 %/yr on Feb 1-20 only -> 1.0001^20 - 1, with 8 days missing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from core import ledger
from core.audit import liabilities
from core.clock import SimulatedClock
from core.config import get_settings
from core.db import Database
from core.errors import NotFound, ValidationError
from core.statements import RiskFreeRates, StatementData, build_statement, render_csv, render_pdf
from tests.support.ledger_world import holding_of, key, make_org, make_token, make_wallet, wallet_cash

pytestmark = pytest.mark.usefixtures("pure_ledger")

A, B = "STRAT-MOMENTUM-BTC-001", "STRAT-LENDING-USDC-001"


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def no_management_fee(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_MANAGEMENT_FEE_RATE", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(any_db: Database, clock: SimulatedClock, no_management_fee: None) -> tuple[Database, int, int]:
    return _build(any_db, clock)


def _build(db: Database, clock: SimulatedClock) -> tuple[Database, int, int]:
    make_token(db, A)
    make_token(db, B)
    org = make_org(db, "Grace Chapel")
    wallet = make_wallet(db, org, cash="10000")
    clock.set(at("2025-01-10"))
    ledger.buy(db.uow(), wallet, A, "1000", idempotency_key=key())
    clock.set(at("2025-02-10T18:00"))
    ledger.mark_nav(db.uow(), A, date(2025, 2, 10), "0.10")
    clock.set(at("2025-02-12T18:00"))
    ledger.mark_nav(db.uow(), B, date(2025, 2, 12), "0.05")
    clock.set(at("2025-02-15"))
    ledger.deposit(db.uow(), wallet, "2800", idempotency_key=key())
    clock.set(at("2025-02-20T12:00"))
    ledger.redeem(db.uow(), wallet, A, "500", idempotency_key=key())
    liabilities.publish(db, date(2025, 2, 20))
    clock.set(at("2025-02-25"))
    ledger.withdraw(db.uow(), wallet, "1000", idempotency_key=key())
    clock.set(at("2025-03-03T09:00"))
    return db, org, wallet


RATES = RiskFreeRates(
    "test bills", {date(2025, 2, 1) + timedelta(days=i): Decimal("0.0365") for i in range(20)}
)


def _statement(db: Database, org: int, month: str, rates: RiskFreeRates | None = RATES) -> StatementData:
    with db.uow(read_only=True) as uow:
        return build_statement(uow.session, org, month, db.clock.now(), rates)


def test_february_by_hand(world: tuple[Database, int, int]) -> None:
    db, org, wallet = world
    s = _statement(db, org, "2025-02")
    assert s.complete and s.wallet_ids == [wallet]
    assert (s.opening.cash, s.opening.value) == (Decimal(9000), Decimal(10000))
    assert [(h.symbol, h.units, h.nav) for h in s.opening.holdings] == [(A, Decimal(1000), Decimal(1))]
    assert (s.closing.cash, s.closing.value) == (Decimal(11345), Decimal(11890))
    assert [(h.symbol, h.units, h.nav, h.value) for h in s.closing.holdings] == [
        (A, Decimal(500), Decimal("1.09"), Decimal(545))
    ]
    groups = {g.kind: (g.count, g.cash_in, g.cash_out) for g in s.groups}
    assert groups == {
        "deposit": (1, Decimal(2800), Decimal(0)),
        "withdraw": (1, Decimal(0), Decimal(-1000)),
        "redeem": (1, Decimal(545), Decimal(0)),
    }
    assert [(t.kind, t.symbol, t.units, t.cash) for t in s.trades] == [
        ("redeem", A, Decimal(-500), Decimal(545))
    ]
    assert s.fees.performance_share == Decimal(10)
    assert s.fees.management_share == 0 and s.fees.total == Decimal(10)
    p = s.performance
    assert p.external_flows == Decimal(1800)
    assert p.wallet is not None and abs(p.wallet - Decimal(63) / Decimal(7880)) < Decimal(
        "1e-20"
    )  # 63 / 7,880 = 0.7995 %
    assert p.equal_weight == Decimal("0.0675") and sorted(p.equal_weight_symbols) == sorted([A, B])
    assert p.tbill is not None and abs(p.tbill - (Decimal("1.0001") ** 20 - 1)) < Decimal("1e-20")
    assert p.tbill_missing_days == 8
    assert s.proof is not None and s.proof.as_of == date(2025, 2, 20) and s.proof.wallets_included == [wallet]


def test_january_opens_empty(world: tuple[Database, int, int]) -> None:
    db, org, _ = world
    s = _statement(db, org, "2025-01", rates=None)
    assert s.opening.value == 0 and s.closing.value == Decimal(10000)
    assert s.performance.wallet == 0  # 10,000 deposited at the very start, worth 10,000 at the end
    assert s.performance.tbill is None and s.proof is None
    assert {g.kind for g in s.groups} == {"deposit", "buy"}


def test_csv_reconciles_with_the_ledger(world: tuple[Database, int, int]) -> None:
    db, org, wallet = world
    rows = list(csv.DictReader(io.StringIO(render_csv(_statement(db, org, "2025-02")).decode())))
    value = {r["item"]: Decimal(r["amount"]) for r in rows if r["section"] == "summary" and r["amount"]}
    movements = [r for r in rows if r["section"] == "movement"]
    nets = sum((Decimal(r["amount"]) for r in movements if r["item"] != "total"), Decimal(0))
    assert nets == Decimal(next(r["amount"] for r in movements if r["item"] == "total"))
    # Nothing happened after February: the closing figures are the ledger's balances now.
    assert value["closing cash"] == wallet_cash(db, wallet) == value["opening cash"] + nets
    units, _ = holding_of(db, wallet, A)
    close = [r for r in rows if r["section"] == "holding_close"]
    assert [(r["symbol"], Decimal(r["units"])) for r in close] == [(A, units)]
    assert value["closing value"] == value["closing cash"] + sum(
        (Decimal(r["amount"]) for r in close), Decimal(0)
    )
    trades = sum((Decimal(r["units"]) for r in rows if r["section"] == "trade"), Decimal(0))
    opened = sum((Decimal(r["units"]) for r in rows if r["section"] == "holding_open"), Decimal(0))
    assert opened + trades == units


@pytest.mark.usefixtures("no_management_fee")
def test_csv_is_the_same_text_on_sqlite_and_postgresql(
    sqlite_db: Database, pg_db: Database, clock: SimulatedClock
) -> None:
    """The same world on both databases gives the same CSV, byte for byte — PostgreSQL's NUMERIC(38,18)
    scale (``5000.000000000000000000``) must not show. Only the proof row differs: each database's
    publication salts its leaves at random, so the roots differ."""
    start, texts = clock.now(), []
    for db in (sqlite_db, pg_db):
        clock.set(start)
        _, org, _ = _build(db, clock)
        text = render_csv(_statement(db, org, "2025-02")).decode()
        lines = text.splitlines(keepends=True)
        texts.append("".join(line for line in lines if not line.startswith("proof,")))
    assert texts[0] == texts[1]
    assert "000000000000," not in texts[1]
    assert "summary,closing cash,,2025-03-01T00:00:00+00:00,,,,11345,,,," in texts[1]  # by hand, above


def test_pdf_opens_and_reads_right(world: tuple[Database, int, int]) -> None:
    db, org, _ = world
    reader = PdfReader(io.BytesIO(render_pdf(_statement(db, org, "2025-02"))))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    for expected in (
        "Grace Chapel",
        "2025-02",
        "$10,000.00",
        "$11,890.00",
        "$11,345.00",
        "$545.00",
        "$2,800.00",
        "-$1,000.00",
        "$1.0900",
        "Deposits",
        "Withdrawals",
        "Token redemptions",
        "+0.80%",
        "+6.75%",
        "+0.20%",
        "$10.00",
    ):
        assert expected in text, expected
    for line in ("Plan charges $0.00", "Distributions $0.00", "Bounty income $0.00", "Deposits $2,800.00"):
        assert line in pages[0], line  # the summary always names them
    assert "Disclosures" in pages[-1] and "not investment" in pages[-1]
    assert "Disclosures" not in "\n".join(pages[:-1])


def test_new_kinds_get_their_own_line(world: tuple[Database, int, int], clock: SimulatedClock) -> None:
    """A transaction kind the statement does not know (a future plan charge) is grouped by itself."""
    from core.ledger.cash import wallet_cash_account
    from core.ledger.locks import lock_wallet
    from core.ledger.postings import LedgerWriter, Leg, system_account

    db, org, wallet = world
    with db.uow() as uow:
        w = lock_wallet(uow.session, wallet)
        writer = LedgerWriter(uow.session, clock.now())
        writer.post(
            "plan.charge",
            [
                Leg(wallet_cash_account(uow.session, w, clock.now()), Decimal(-50)),
                Leg(system_account(uow.session, "platform:fees", clock.now()), Decimal(50)),
            ],
            wallet_id=wallet,
        )
        writer.flush()
        w.cash -= 50
        uow.commit()
    s = _statement(db, org, "2025-03")
    assert [(g.label, g.cash_out) for g in s.groups] == [("Plan charges", Decimal(-50))]
    assert s.closing.cash == s.opening.cash - 50


@pytest.mark.parametrize("month", ["2025-13", "25-01", "2025-1", "", "1999-12"])
def test_bad_month_is_one_line(world: tuple[Database, int, int], month: str) -> None:
    db, org, _ = world
    with pytest.raises(ValidationError, match="YYYY-MM"):
        _statement(db, org, month)


def test_future_month_and_unknown_org(world: tuple[Database, int, int]) -> None:
    db, org, _ = world
    with pytest.raises(ValidationError, match="has not started"):
        _statement(db, org, "2025-04")
    with pytest.raises(NotFound, match="organisation 999"):
        _statement(db, 999, "2025-02")


def test_month_to_date(world: tuple[Database, int, int]) -> None:
    db, org, _ = world
    s = _statement(db, org, "2025-03")
    assert not s.complete and s.end == at("2025-03-03T09:00") + timedelta(microseconds=1)
    assert any("Month to date" in n for n in s.notes)


def test_management_fee_share_by_hand(any_db: Database, clock: SimulatedClock) -> None:
    """1 %/yr on a pool of 1,100 from Jan 1 to Feb 15 (45 days), settled on Feb 15:
    1,100 x 0.01 x 45 / 365 = 1.3561643... -> 1.356164 (rounded down); the wallet held 1,000 of the
    1,100 units: 1.356164 x 1,000 / 1,100 = 1.2328763... -> 1.232876."""
    db = any_db
    make_token(db, A)
    org = make_org(db)
    wallet = make_wallet(db, org, cash="1000")
    ledger.buy(db.uow(), wallet, A, "1000", idempotency_key=key())
    clock.set(at("2025-02-15"))
    assert ledger.accrue_fees(db.uow(), A, idempotency_key=key()) == Decimal("1.356164")
    clock.set(at("2025-03-02"))
    s = _statement(db, org, "2025-02", rates=None)
    assert s.fees.management_share == Decimal("1.232876") and s.fees.performance_share == 0
