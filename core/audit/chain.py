"""The ledger's hash chain: ``hash = SHA-256(previous hash || canonical encoding)`` per transaction.

Writing: :class:`core.ledger.postings.LedgerWriter` hands every transaction it inserts to
:func:`record`, which encodes it at once. Just before the session commits, :func:`seal` locks the
chain head (the *last* lock the transaction takes, so the lock order stays acyclic and the hot row
is held for the shortest time), numbers the pending transactions after the head, hashes each onto
the previous one and moves the head: per transaction one SHA-256 and one ``UPDATE``, plus one head
read and one head update per commit (on PostgreSQL a commit with one transaction updates it and the
head in one statement). Transactions posted inside a savepoint that rolls back are
dropped from the pending list.

Canonical encoding (version 1), ASCII bytes of the JSON object with keys sorted, no whitespace,
non-ASCII escaped (Python ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)``)::

    {"created_at": "2025-01-01T00:00:00.000000Z",  # UTC, microseconds
     "details": {...} | null, "id": 12, "idempotency_key": "..." | null, "kind": "buy",
     "memo": "..." | null, "postings": [[account_id, "account code", "asset", "amount"], ...],
     "token_id": 3 | null, "v": 1, "wallet_id": 7 | null}

Amounts are plain decimal text without exponent or trailing zeros (``"-100"``, ``"0.5"``);
postings are sorted by (account id, asset, amount text). The genesis "previous hash" is 32 zero
bytes; each later one is the previous transaction's 32-byte digest (not its hex text).

Rows written before the chain existed (a database migrated from an older version) carry no hash:
the first chained write seals them, in id order, from the genesis value — the chain vouches for
them from that moment on, not for their past. Until then ``arena ledger check`` lists them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from core.clock import ensure_utc
from core.models import LedgerAccount, LedgerTransaction, Posting
from core.models.audit import LedgerChainHead, LiabilityPublication
from core.money import canonical_text

ENCODING_VERSION = 1
GENESIS = bytes(32)
HEAD_ID = 1
_PENDING = "arena_chain_pending"

TRANSACTIONS = cast(Table, LedgerTransaction.__table__)
HEAD = cast(Table, LedgerChainHead.__table__)

_LOCK_HEAD = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == HEAD_ID).with_for_update()
_SET_TXN_HASH = (
    update(TRANSACTIONS)
    .where(TRANSACTIONS.c.id == bindparam("b_id"))
    .values(chain_seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
_SET_HEAD = (
    update(HEAD)
    .where(HEAD.c.id == HEAD_ID)
    .values(
        seq=bindparam("b_seq"),
        hash=bindparam("b_hash"),
        transaction_id=bindparam("b_txn"),
        updated_at=bindparam("b_at"),
    )
)
# PostgreSQL, one pending transaction (a single trade's commit): its hash and the head move in one
# statement (a data-modifying CTE), one round trip instead of two.
_PG_SEAL_ONE = _SET_HEAD.add_cte(
    update(TRANSACTIONS)
    .where(TRANSACTIONS.c.id == bindparam("t_id"))
    .values(chain_seq=bindparam("t_seq"), hash=bindparam("t_hash"))
    .cte("sealed_transaction")
)
_NEW_HEAD = {"id": HEAD_ID, "seq": 0, "hash": GENESIS.hex(), "transaction_id": None}
_CREATE_HEAD_PG = pg_insert(HEAD).on_conflict_do_nothing(index_elements=["id"]).returning(HEAD.c.id)
_CREATE_HEAD_SQLITE = sqlite_insert(HEAD).on_conflict_do_nothing(index_elements=["id"]).returning(HEAD.c.id)


# --- encoding ------------------------------------------------------------------------------------


def timestamp_text(moment: datetime) -> str:
    return ensure_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_transaction(
    *,
    txn_id: int,
    kind: str,
    created_at: datetime,
    idempotency_key: str | None,
    wallet_id: int | None,
    token_id: int | None,
    memo: str | None,
    details: dict[str, Any] | None,
    postings: Iterable[tuple[int, str, str, Decimal]],
) -> bytes:
    """The version-1 canonical bytes of one transaction and its postings (see the module doc)."""
    legs = sorted(
        ([account_id, code, asset, canonical_text(amount)] for account_id, code, asset, amount in postings),
        key=lambda leg: (leg[0], leg[2], leg[3]),
    )
    document = {
        "v": ENCODING_VERSION,
        "id": txn_id,
        "kind": kind,
        "created_at": timestamp_text(created_at),
        "idempotency_key": idempotency_key,
        "wallet_id": wallet_id,
        "token_id": token_id,
        "memo": memo,
        "details": details,
        "postings": legs,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def chain_hash(previous: bytes, encoding: bytes) -> bytes:
    return hashlib.sha256(previous + encoding).digest()


# --- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    txn_id: int
    encoding: bytes
    created_at: datetime
    owner: SessionTransaction | None  # the innermost transaction it was posted in


def record(session: Session, txn_id: int, encoding: bytes, created_at: datetime) -> None:
    """Queue a just-inserted transaction for sealing at commit."""
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(Pending(txn_id, encoding, created_at, owner))


def _within(txn: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while txn is not None:
        if txn is ended:
            return True
        txn = txn.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[Pending] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [p for p in pending if not _within(p.owner, previous_transaction)]


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the outer commit seals
        return
    pending: list[Pending] = session.info.pop(_PENDING, None) or []
    if pending:
        session.flush()  # every other row lock first: the head is the last lock taken
        seal(session, pending)


def _lock_head(session: Session, now: datetime) -> tuple[int, bytes, bool]:
    """(seq, hash, created) of the locked chain head; creates it at genesis on first use."""
    conn = session.connection()
    row = conn.execute(_LOCK_HEAD).first()
    if row is not None:
        return row.seq, bytes.fromhex(row.hash), False
    create = _CREATE_HEAD_PG if conn.dialect.name == "postgresql" else _CREATE_HEAD_SQLITE
    values = {**_NEW_HEAD, "updated_at": now}
    created = conn.execute(create, values).first() is not None
    row = conn.execute(_LOCK_HEAD).one()
    return row.seq, bytes.fromhex(row.hash), created


def seal(session: Session, pending: Sequence[Pending]) -> None:
    """Chain ``pending`` (in posting order) after the head and move the head."""
    from core.ledger.locks import CHAIN_HEAD, note_lock  # the ledger imports this module

    now = pending[-1].created_at
    note_lock(session, CHAIN_HEAD, HEAD_ID)  # the one global order: the head comes after everything
    seq, previous, created = _lock_head(session, now)
    queue = list(pending)
    if created:  # the chain starts now: first seal what was written before it existed
        queue = _unsealed(session, {p.txn_id for p in pending}, now) + queue
    updates = []
    for item in queue:
        seq += 1
        previous = chain_hash(previous, item.encoding)
        updates.append({"b_id": item.txn_id, "b_seq": seq, "b_hash": previous.hex()})
    conn = session.connection()
    head = {"b_seq": seq, "b_hash": previous.hex(), "b_txn": queue[-1].txn_id, "b_at": queue[-1].created_at}
    if len(updates) == 1 and conn.dialect.name == "postgresql":
        one = updates[0]
        sealed = {"t_id": one["b_id"], "t_seq": one["b_seq"], "t_hash": one["b_hash"]}
        conn.execute(_PG_SEAL_ONE, {**head, **sealed})
        return
    conn.execute(_SET_TXN_HASH, updates)
    conn.execute(_SET_HEAD, head)


# --- reading back --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    txn_id: int
    kind: str
    chain_seq: int | None
    hash: str | None
    encoding: bytes


def stored_transactions(session: Session, ids: Iterable[int] | None = None) -> list[StoredTransaction]:
    """Transactions as the database holds them, re-encoded (ordered by chain position, then id)."""
    codes = {row.id: row.code for row in session.execute(select(LedgerAccount.id, LedgerAccount.code))}
    posting_query = select(Posting.transaction_id, Posting.account_id, Posting.asset, Posting.amount)
    txn_query = select(LedgerTransaction).order_by(LedgerTransaction.chain_seq, LedgerTransaction.id)
    if ids is not None:
        wanted = list(ids)
        posting_query = posting_query.where(Posting.transaction_id.in_(wanted))
        txn_query = txn_query.where(LedgerTransaction.id.in_(wanted))
    legs: dict[int, list[tuple[int, str, str, Decimal]]] = defaultdict(list)
    for txn_id, account_id, asset, amount in session.execute(posting_query):
        legs[txn_id].append((account_id, codes.get(account_id, "?"), asset, amount))
    out = []
    for txn in session.scalars(txn_query):
        encoding = canonical_transaction(
            txn_id=txn.id,
            kind=txn.kind,
            created_at=txn.created_at,
            idempotency_key=txn.idempotency_key,
            wallet_id=txn.wallet_id,
            token_id=txn.token_id,
            memo=txn.memo,
            details=txn.details,
            postings=legs.get(txn.id, []),
        )
        out.append(StoredTransaction(txn.id, txn.kind, txn.chain_seq, txn.hash, encoding))
    return sorted(out, key=lambda t: (t.chain_seq is None, t.chain_seq or 0, t.txn_id))


def _unsealed(session: Session, exclude: set[int], now: datetime) -> list[Pending]:
    ids = [
        i
        for i in session.scalars(select(LedgerTransaction.id).where(LedgerTransaction.hash.is_(None)))
        if i not in exclude
    ]
    if not ids:
        return []
    rows = sorted(stored_transactions(session, ids), key=lambda t: t.txn_id)
    return [Pending(t.txn_id, t.encoding, now, None) for t in rows]


# --- verifying -----------------------------------------------------------------------------------


def _hash_bytes(text: str | None) -> bytes | None:
    try:
        return bytes.fromhex(text) if text is not None and len(text) == 64 else None
    except ValueError:
        return None


def verify_chain(session: Session) -> list[str]:
    """Recompute the chain; one violation per broken link, the first broken transaction first."""
    violations: list[str] = []
    head = session.get(LedgerChainHead, HEAD_ID)
    previous, expected = GENESIS, 1
    last: StoredTransaction | None = None
    for txn in stored_transactions(session):
        if txn.chain_seq is None:
            if head is None:
                violations.append(
                    f"transaction {txn.txn_id} ({txn.kind}) predates the hash chain and is "
                    "not sealed yet; the next ledger write seals it"
                )
            else:
                violations.append(
                    f"transaction {txn.txn_id} ({txn.kind}) is not in the hash chain "
                    "(inserted outside the ledger)"
                )
            continue
        if txn.chain_seq != expected:
            violations.append(
                f"hash chain: position {expected} expected, transaction {txn.txn_id} has "
                f"{txn.chain_seq} (a transaction was deleted or renumbered)"
            )
        if chain_hash(previous, txn.encoding).hex() != txn.hash:
            violations.append(
                f"hash chain broken at transaction {txn.txn_id} (position {txn.chain_seq}, "
                f"{txn.kind}): its content, a posting or its predecessor was changed"
            )
        previous = _hash_bytes(txn.hash) or chain_hash(previous, txn.encoding)
        expected = txn.chain_seq + 1
        last = txn
    if head is not None and (last is None or (head.seq, head.hash) != (last.chain_seq, last.hash)):
        where = f"transaction {last.txn_id} at position {last.chain_seq}" if last else "no transaction"
        violations.append(
            f"hash chain head (position {head.seq}) does not match the last chained "
            f"transaction ({where}): transactions were removed from the end"
        )
    violations.extend(_publication_anchors(session))
    return violations


def _publication_anchors(session: Session) -> list[str]:
    """Each published proof of liabilities named the chain head it was taken at: it must still be there."""
    out = []
    for pub in session.scalars(select(LiabilityPublication).order_by(LiabilityPublication.id)):
        if pub.chain_seq == 0:
            continue
        stored = session.scalar(
            select(LedgerTransaction.hash).where(LedgerTransaction.chain_seq == pub.chain_seq)
        )
        if stored != pub.chain_hash:
            out.append(
                f"hash chain: the head published on {pub.as_of} (position {pub.chain_seq}, "
                f"{pub.chain_hash[:16]}…) is no longer in the ledger: history was rewritten"
            )
    return out


def chain_head(session: Session) -> tuple[int, str]:
    """(position, hex hash) of the chain head; (0, genesis) before the first chained write."""
    head = session.get(LedgerChainHead, HEAD_ID)
    return (head.seq, head.hash) if head is not None else (0, GENESIS.hex())
