"""The ledger's hash chain: every transaction is chained at commit, an auditor's own recomputation
from the documented encoding matches, and tampering in the database is caught by ``ledger check``
with the first broken transaction named (on a real SQLite file and on PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import text

from core import ledger
from core.db import Database
from tests.support.ledger_world import key, make_org, make_token, make_wallet, violations

pytestmark = pytest.mark.usefixtures("pure_ledger")
SYM = "STRAT-MOMENTUM-BTC-001"


def _world(db: Database) -> int:
    wallet = make_wallet(db, make_org(db))
    make_token(db, SYM)
    ledger.buy(db.uow(), wallet, SYM, "250.5", idempotency_key=key())
    ledger.redeem(db.uow(), wallet, SYM, "10", idempotency_key=key())
    return wallet


def _amount_text(value: Decimal) -> str:
    """Plain decimal text, no exponent, no trailing zeros (the documented amount format)."""
    text_ = format(value, "f")
    if "." in text_:
        text_ = text_.rstrip("0").rstrip(".")
    return "0" if text_ in ("", "-0") else text_


def auditor_recompute(db: Database) -> list[tuple[int, str, str]]:
    """(id, stored hash, recomputed hash) per transaction, from raw SQL and docs/AUDIT.md only."""
    out = []
    with db.engine.connect() as conn:
        codes: dict[int, str] = {
            r.id: r.code for r in conn.execute(text("SELECT id, code FROM ledger_accounts"))
        }
        legs: dict[int, list[list[object]]] = {}
        for txn_id, account_id, asset, amount in conn.execute(
            text("SELECT transaction_id, account_id, asset, amount FROM postings")
        ):
            legs.setdefault(txn_id, []).append(
                [account_id, codes[account_id], asset, _amount_text(Decimal(str(amount)))]
            )
        previous = bytes(32)
        rows = conn.execute(
            text(
                "SELECT id, kind, created_at, idempotency_key, wallet_id, token_id, memo, details, hash "
                "FROM ledger_transactions ORDER BY chain_seq"
            )
        ).all()
        for row in rows:
            created = row.created_at if not isinstance(row.created_at, str) else None
            stamp = (
                created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                if created is not None
                else row.created_at.replace(" ", "T")[:26].ljust(26, "0") + "Z"
            )
            details = json.loads(row.details) if isinstance(row.details, str) else row.details
            document = {
                "v": 1,
                "id": row.id,
                "kind": row.kind,
                "created_at": stamp,
                "idempotency_key": row.idempotency_key,
                "wallet_id": row.wallet_id,
                "token_id": row.token_id,
                "memo": row.memo,
                "details": details,
                "postings": sorted(legs.get(row.id, []), key=lambda leg: (leg[0], leg[2], leg[3])),
            }
            encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
            digest = hashlib.sha256(previous + encoded).digest()
            out.append((row.id, row.hash, digest.hex()))
            previous = digest
    return out


def test_every_transaction_is_chained_and_an_auditor_can_recompute_it(any_db: Database) -> None:
    _world(any_db)
    recomputed = auditor_recompute(any_db)
    assert [t[0] for t in recomputed] == [1, 2, 3, 4, 5]  # deposit, mint, seed, buy, redeem
    assert all(stored == mine for _, stored, mine in recomputed)
    with any_db.engine.connect() as conn:
        seqs = [
            r[0] for r in conn.execute(text("SELECT chain_seq FROM ledger_transactions ORDER BY chain_seq"))
        ]
        head = conn.execute(text("SELECT seq, hash FROM ledger_chain_head")).one()
    assert seqs == list(range(1, len(seqs) + 1))
    assert (head.seq, head.hash) == (len(seqs), recomputed[-1][1])
    assert violations(any_db) == []


def _tamper(db: Database, statement: str, **params: object) -> None:
    """Edit the database behind the ledger's back (an attacker with database access)."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS postings_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS postings_no_delete"))
        else:
            conn.execute(text("ALTER TABLE postings DISABLE TRIGGER postings_append_only"))
        conn.execute(text(statement), params)


def _last_buy(db: Database) -> tuple[int, int]:
    with db.engine.connect() as conn:
        txn = conn.execute(
            text("SELECT id FROM ledger_transactions WHERE kind = 'buy' ORDER BY id DESC")
        ).scalar_one()
        posting = conn.execute(
            text("SELECT min(id) FROM postings WHERE transaction_id = :t"), {"t": txn}
        ).scalar_one()
    return txn, posting


def test_an_edited_posting_amount_names_its_transaction(any_db: Database) -> None:
    _world(any_db)
    txn, posting = _last_buy(any_db)
    _tamper(any_db, "UPDATE postings SET amount = :a WHERE id = :p", a="-250.4", p=posting)
    found = violations(any_db)
    broken = [v for v in found if v.startswith("hash chain broken")]
    assert broken and broken[0].startswith(f"hash chain broken at transaction {txn} ")


def test_a_deleted_posting_an_inserted_transaction_and_a_deleted_tail_are_reported(any_db: Database) -> None:
    wallet = _world(any_db)
    txn, posting = _last_buy(any_db)
    _tamper(any_db, "DELETE FROM postings WHERE id = :p", p=posting)
    assert any(v.startswith(f"hash chain broken at transaction {txn} ") for v in violations(any_db))
    # A forged transaction inserted without going through the ledger carries no chain position.
    _tamper(
        any_db,
        "INSERT INTO ledger_transactions (kind, created_at, wallet_id) VALUES ('deposit', :t, :w)",
        t="2025-01-01 00:00:00",
        w=wallet,
    )
    assert any("is not in the hash chain" in v for v in violations(any_db))


def test_deleting_the_newest_transaction_is_caught_by_the_head(any_db: Database) -> None:
    _world(any_db)
    with any_db.engine.connect() as conn:
        last = (
            conn.execute(text("SELECT id FROM ledger_transactions ORDER BY chain_seq DESC")).scalars().first()
        )
    _tamper(any_db, "DELETE FROM postings WHERE transaction_id = :t", t=last)
    _tamper(any_db, "DELETE FROM fee_accruals WHERE transaction_id = :t", t=last)
    _tamper(any_db, "DELETE FROM ledger_transactions WHERE id = :t", t=last)
    assert any("chain head" in v for v in violations(any_db))


def test_a_savepoint_rolled_back_leaves_no_gap_in_the_chain(any_db: Database) -> None:
    wallet = _world(any_db)
    with any_db.uow() as uow:
        savepoint = uow.session.begin_nested()
        ledger.deposit_in(uow.session, uow.clock.now(), wallet, Decimal("5"))
        savepoint.rollback()
        ledger.deposit_in(uow.session, uow.clock.now(), wallet, Decimal("7"))
        uow.commit()
    assert violations(any_db) == []


def test_rows_written_before_the_chain_existed_are_sealed_by_the_next_write(any_db: Database) -> None:
    wallet = _world(any_db)
    with any_db.engine.begin() as conn:  # what a database from before the chain looks like
        conn.execute(text("UPDATE ledger_transactions SET hash = NULL, chain_seq = NULL"))
        conn.execute(text("DELETE FROM ledger_chain_head"))
    assert any("predates the hash chain" in v for v in violations(any_db))
    ledger.deposit(any_db.uow(), wallet, "1", idempotency_key=key())
    assert violations(any_db) == []
    assert all(stored == mine for _, stored, mine in auditor_recompute(any_db))


def test_arena_ledger_check_fails_and_names_the_transaction(sqlite_db: Database) -> None:
    _world(sqlite_db)
    txn, posting = _last_buy(sqlite_db)
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    cli = [sys.executable, "-c", "from bot.cli import main; main()", "--db", url, "ledger", "check", "--json"]
    ok = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    _tamper(sqlite_db, "UPDATE postings SET amount = '-250.4' WHERE id = :p", p=posting)
    bad = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert (ok.returncode, json.loads(ok.stdout)["ok"]) == (0, True), ok.stderr
    report = json.loads(bad.stdout)
    assert bad.returncode == 1 and report["ok"] is False
    assert any(v.startswith(f"hash chain broken at transaction {txn} ") for v in report["violations"])
