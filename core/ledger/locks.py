"""Row locks in the one global order, enforced: tokens by id, then wallets by id, then ledger
accounts by id (then, reserved, the hash-chain head — see :data:`CHAIN_HEAD`).

Every writer takes its locks through this module — :func:`lock_in_order` for a known set,
:func:`lock_token` / :func:`lock_wallet` / :func:`lock_wallet_and_org` for one row, and
:func:`lock_accounts` (used by :class:`core.ledger.postings.LedgerWriter` at ``flush``). Because
every transaction acquires rows in the same total order ``(level, id)``, two PostgreSQL writers
can never wait for each other in a cycle: no deadlock is possible between them.

**The order is enforced, not just documented.** Each transaction remembers the rows it locked
here. Asking for a row that sorts *before* one already held (a token after a wallet, wallet 7
after wallet 9, an account after a later flush) raises :class:`LockOrderViolation` — a
programming error, raised on SQLite too, so every test of a writer is also a test of its lock
order. A row already held may be asked for again at any time (it is returned from memory).
A writer that needs a row it did not lock up front must therefore lock its whole set first (read
what it needs, lock, then **re-validate** what it read: see :class:`ConcurrentChange`).

Rows that belong to a locked entity are written only while their parent is held: holdings and
queued redemptions (wallet + token), redemption usage (token), proposals (wallet). Account rows of
a token's pool, a wallet's cash or a holding are guarded the same way; the shared system accounts
(fees, insurance, trading costs, ...) are why a transaction flushes its balances **once**, at the
end, with every touched account locked in one ascending statement (one :class:`LedgerWriter` per
transaction; several trades share it).

On PostgreSQL locks are ``SELECT ... FOR UPDATE`` (``ORDER BY id`` locks rows in that order); on
SQLite the write transaction already holds the database lock (``BEGIN IMMEDIATE``), so the dialect
omits ``FOR UPDATE`` while the order check still runs. ``populate_existing`` makes sure a locked
row is read fresh, never a stale identity-map copy.

The memory is per root transaction. A savepoint rolled back releases (on PostgreSQL) the locks
taken inside it, so its rows are forgotten; the rows still held are expired (re-read on next use),
since the savepoint may have changed them; a savepoint released keeps them.

Usage (a writer that trades several tokens for one wallet)::

    locked = lock_in_order(session, tokens=["STRAT-A-001", "STRAT-B-002"], wallets=[wallet_id])
    ... re-read and re-validate under the locks, post through one LedgerWriter, flush once ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, event, select
from sqlalchemy.orm import Session, SessionTransaction

from core.errors import ArenaError, NotFound, UnknownToken, ValidationError
from core.models import AIWallet, LedgerAccount, Organisation, OrgStatus, StrategyToken, TokenHolding

SYMBOL_MAX = 64
_LOCKED = "arena_locked_rows"

#: Lock levels, in the order a transaction must acquire them.
TOKEN, WALLET, ACCOUNT, CHAIN_HEAD = 0, 1, 2, 3
_LEVEL_NAMES = {TOKEN: "token", WALLET: "wallet", ACCOUNT: "account", CHAIN_HEAD: "chain head"}


class LockOrderViolation(RuntimeError):
    """A writer asked for a row lock out of the global order: a bug in that writer, never user input."""


class ConcurrentChange(ArenaError):
    """What a writer read before taking its locks changed before it got them; nothing was written.

    Raised when re-validation under the locks finds, e.g., that a wallet acquired a token that was
    not locked up front. The operation may simply be tried again.
    """

    code = "concurrent_change"


_LOCK_TOKEN = (
    select(StrategyToken)
    .where(StrategyToken.symbol == bindparam("symbol"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)
_LOCK_TOKENS_BY_ID = (
    select(StrategyToken)
    .where(StrategyToken.id.in_(bindparam("ids", expanding=True)))
    .order_by(StrategyToken.id)
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)
_TOKEN_IDS = select(StrategyToken.symbol, StrategyToken.id).where(
    StrategyToken.symbol.in_(bindparam("symbols", expanding=True))
)
_ORG_STATUS = (
    select(Organisation.status).where(Organisation.id == AIWallet.organisation_id).scalar_subquery()
)
_LOCK_WALLET = (
    select(AIWallet, _ORG_STATUS)
    .where(AIWallet.id == bindparam("wallet_id"))
    .with_for_update(of=AIWallet, key_share=True)
    .execution_options(populate_existing=True)
)
_HOLDINGS = cast(Table, TokenHolding.__table__)
# The wallet lock with the wallet's holding of one token read in the same statement (a trade needs
# both; one round trip less). Only the wallet row is locked: the holding is written under it.
_LOCK_WALLET_HOLDING = (
    select(
        AIWallet,
        _ORG_STATUS,
        _HOLDINGS.c.id.label("h_id"),
        _HOLDINGS.c.quantity.label("h_quantity"),
        _HOLDINGS.c.avg_cost_basis.label("h_avg_cost_basis"),
        _HOLDINGS.c.realized_pnl.label("h_realized_pnl"),
        _HOLDINGS.c.reserved.label("h_reserved"),
    )
    .outerjoin(
        _HOLDINGS,
        (_HOLDINGS.c.wallet_id == AIWallet.id) & (_HOLDINGS.c.token_id == bindparam("token_id")),
    )
    .where(AIWallet.id == bindparam("wallet_id"))
    .with_for_update(of=AIWallet, key_share=True)
    .execution_options(populate_existing=True)
)
_LOCK_WALLETS = (
    select(AIWallet, _ORG_STATUS)
    .where(AIWallet.id.in_(bindparam("ids", expanding=True)))
    .order_by(AIWallet.id)
    .with_for_update(of=AIWallet, key_share=True)
    .execution_options(populate_existing=True)
)
ACCOUNTS = cast(Table, LedgerAccount.__table__)
_LOCK_ACCOUNTS = (
    select(ACCOUNTS.c.id, ACCOUNTS.c.balance, ACCOUNTS.c.kind, ACCOUNTS.c.code, ACCOUNTS.c.asset)
    .where(ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(ACCOUNTS.c.id)
    .with_for_update(key_share=True)
)


# --- the per-transaction memory ------------------------------------------------------------------


@dataclass(slots=True)
class _Held:
    value: Any
    txn: SessionTransaction | None  # the (possibly nested) transaction that took the lock


class _Memo:
    """Rows locked in one root transaction: ``(level, id)`` -> what was read, plus a symbol index."""

    __slots__ = ("highest", "root", "rows", "symbols")

    def __init__(self, root: SessionTransaction | None) -> None:
        self.root = root
        self.rows: dict[tuple[int, int], _Held] = {}
        self.symbols: dict[str, int] = {}
        self.highest: tuple[int, int] = (-1, -1)

    def recompute(self) -> None:
        self.highest = max(self.rows, default=(-1, -1))
        self.symbols = {
            token.symbol: key[1]
            for key, held in self.rows.items()
            if key[0] == TOKEN and isinstance(token := held.value, StrategyToken)
        }


def _memo(session: Session) -> _Memo:
    root = session.get_transaction()
    memo = session.info.get(_LOCKED)
    if not isinstance(memo, _Memo) or memo.root is not root or root is None:
        memo = session.info[_LOCKED] = _Memo(root)
    return memo


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back savepoint released its locks (PostgreSQL): forget the rows it took."""
    memo = session.info.get(_LOCKED)
    if not isinstance(memo, _Memo):
        return
    if not previous_transaction.nested:
        session.info.pop(_LOCKED, None)
        return

    def inside(txn: SessionTransaction | None) -> bool:
        while txn is not None:
            if txn is previous_transaction:
                return True
            txn = txn.parent
        return False

    memo.rows = {key: held for key, held in memo.rows.items() if not inside(held.txn)}
    memo.recompute()
    # Rows still held were locked before the savepoint, but the ledger writes them with Core
    # statements (the ORM does not track those), so their in-memory values may show what the
    # savepoint did: expire them, the next access reads the rolled-back (and still locked) row.
    for held in memo.rows.values():
        obj = held.value[0] if isinstance(held.value, tuple) else held.value
        if obj is not None and _still_loaded(session, obj):
            session.expire(obj)


def _check_order(memo: _Memo, key: tuple[int, int]) -> None:
    if key in memo.rows or key > memo.highest:
        return
    level, ident = key
    top_level, top_ident = memo.highest
    raise LockOrderViolation(
        f"lock order violated: {_LEVEL_NAMES[level]} {ident} requested after "
        f"{_LEVEL_NAMES[top_level]} {top_ident} is held; lock tokens, then wallets (each by id), "
        "then accounts, up front (core.ledger.locks.lock_in_order)"
    )


def _remember(session: Session, memo: _Memo, key: tuple[int, int], value: Any) -> None:
    memo.rows[key] = _Held(value, session.get_nested_transaction() or session.get_transaction())
    if key > memo.highest:
        memo.highest = key
    if key[0] == TOKEN and isinstance(value, StrategyToken):
        memo.symbols[value.symbol] = key[1]


def _still_loaded(session: Session, obj: object) -> bool:
    return obj in session and obj not in session.deleted


def held(session: Session) -> list[tuple[str, int]]:
    """The rows this transaction holds through this module, in acquisition order: ``("token", 3)``."""
    return [(_LEVEL_NAMES[level], ident) for level, ident in sorted(_memo(session).rows)]


def holds_token(session: Session, symbol: str) -> bool:
    """Whether this transaction already holds ``symbol``'s lock."""
    return _held_token(session, _memo(session), normalise_symbol(symbol)) is not None


def held_tokens(session: Session, symbols: Iterable[str]) -> dict[str, StrategyToken] | None:
    """``symbol -> token`` from this transaction's locks when it holds every one of ``symbols``
    (no statement: the locked rows are current), else ``None``."""
    memo = _memo(session)
    found: dict[str, StrategyToken] = {}
    for symbol in symbols:
        token = _held_token(session, memo, symbol)
        if token is None:
            return None
        found[symbol] = token
    return found


def holds_wallet(session: Session, wallet_id: int) -> bool:
    """Whether this transaction already holds wallet ``wallet_id``'s lock."""
    return _held_wallet(session, _memo(session), wallet_id) is not None


def may_lock(session: Session, level: int) -> bool:
    """Whether a new row of ``level`` may still be locked (nothing of a later level is held)."""
    return _memo(session).highest[0] <= level


# --- tokens --------------------------------------------------------------------------------------


def normalise_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValidationError("a token symbol is required, e.g. STRAT-MOMENTUM-BTC-001")
    cleaned = symbol.strip().upper()
    if len(cleaned) > SYMBOL_MAX:
        raise ValidationError(f"token symbol longer than {SYMBOL_MAX} characters")
    return cleaned


def _held_token(session: Session, memo: _Memo, symbol: str) -> StrategyToken | None:
    token_id = memo.symbols.get(symbol)
    if token_id is None:
        return None
    hit = memo.rows.get((TOKEN, token_id))
    if hit is not None and _still_loaded(session, hit.value):
        return cast(StrategyToken, hit.value)
    return None


def lock_token(session: Session, symbol: str) -> StrategyToken:
    """Lock one token row (or return it if this transaction holds it already)."""
    cleaned = normalise_symbol(symbol)
    token = _held_token(session, _memo(session), cleaned)
    if token is not None:
        return token
    token = session.scalars(_LOCK_TOKEN, {"symbol": cleaned}).one_or_none()
    if token is None:
        raise UnknownToken.named(cleaned)
    memo = _memo(session)  # the SELECT may have begun the transaction
    _check_order(memo, (TOKEN, token.id))
    _remember(session, memo, (TOKEN, token.id), token)
    return token


def lock_tokens(session: Session, symbols: Iterable[str]) -> dict[str, StrategyToken]:
    """Lock several tokens in id order (one statement); unknown symbols are left out."""
    wanted = sorted({normalise_symbol(s) for s in symbols})
    if not wanted:
        return {}
    memo = _memo(session)
    found: dict[str, StrategyToken] = {}
    missing = []
    for symbol in wanted:
        token = _held_token(session, memo, symbol)
        if token is not None:
            found[symbol] = token
        else:
            missing.append(symbol)
    if missing:
        ids = {row[0]: row[1] for row in session.execute(_TOKEN_IDS, {"symbols": missing})}
        found.update(_lock_token_ids(session, sorted(ids.values())))
    return found


def _lock_token_ids(session: Session, ids: Sequence[int]) -> dict[str, StrategyToken]:
    if not ids:
        return {}
    memo = _memo(session)
    _check_order(memo, (TOKEN, min(ids)))
    tokens = session.scalars(_LOCK_TOKENS_BY_ID, {"ids": list(ids)}).all()
    memo = _memo(session)
    for token in tokens:
        _remember(session, memo, (TOKEN, token.id), token)
    return {token.symbol: token for token in tokens}


# --- wallets -------------------------------------------------------------------------------------


def _check_wallet_id(wallet_id: int) -> None:
    if isinstance(wallet_id, bool) or not isinstance(wallet_id, int) or wallet_id <= 0:
        raise ValidationError(f"wallet id must be a positive integer, got {wallet_id!r}")


def _held_wallet(session: Session, memo: _Memo, wallet_id: int) -> tuple[AIWallet, OrgStatus | None] | None:
    hit = memo.rows.get((WALLET, wallet_id))
    if hit is not None and _still_loaded(session, hit.value[0]):
        return cast(tuple[AIWallet, OrgStatus | None], hit.value)
    return None


def lock_wallet_and_org(session: Session, wallet_id: int) -> tuple[AIWallet, OrgStatus | None]:
    """Lock the wallet row and read its organisation's status in the same statement
    (``None`` for the house wallet or a wallet whose organisation is missing)."""
    _check_wallet_id(wallet_id)
    memo = _memo(session)
    hit = _held_wallet(session, memo, wallet_id)
    if hit is not None:
        return hit
    _check_order(memo, (WALLET, wallet_id))
    row = session.execute(_LOCK_WALLET, {"wallet_id": wallet_id}).one_or_none()
    if row is None:
        raise NotFound(f"wallet {wallet_id} does not exist")
    result = (row[0], row[1])
    _remember(session, _memo(session), (WALLET, wallet_id), result)
    return result


#: :func:`lock_wallet_with_holding`'s answer when the wallet was already held (nothing read).
NOT_READ = object()


def lock_wallet_with_holding(
    session: Session, wallet_id: int, token_id: int
) -> tuple[AIWallet, OrgStatus | None, Any]:
    """:func:`lock_wallet_and_org` that also reads the wallet's holding of ``token_id`` in the same
    statement: ``(wallet, org status, holding)`` where holding is a row with ``h_id``,
    ``h_quantity``, ``h_avg_cost_basis``, ``h_realized_pnl``, ``h_reserved`` (``h_id`` None: no
    holding yet), or :data:`NOT_READ` when this transaction held the wallet already (read it then
    with :func:`core.ledger.rows.read_position`)."""
    _check_wallet_id(wallet_id)
    memo = _memo(session)
    hit = _held_wallet(session, memo, wallet_id)
    if hit is not None:
        return hit[0], hit[1], NOT_READ
    _check_order(memo, (WALLET, wallet_id))
    row = session.execute(_LOCK_WALLET_HOLDING, {"wallet_id": wallet_id, "token_id": token_id}).one_or_none()
    if row is None:
        raise NotFound(f"wallet {wallet_id} does not exist")
    _remember(session, _memo(session), (WALLET, wallet_id), (row[0], row[1]))
    return row[0], row[1], row


def lock_wallet(session: Session, wallet_id: int) -> AIWallet:
    return lock_wallet_and_org(session, wallet_id)[0]


def lock_wallets(session: Session, wallet_ids: Iterable[int]) -> dict[int, AIWallet]:
    """Lock several wallets in id order (one statement); unknown ids are left out."""
    ids = sorted(set(wallet_ids))
    for wallet_id in ids:
        _check_wallet_id(wallet_id)
    memo = _memo(session)
    found = {i: hit[0] for i in ids if (hit := _held_wallet(session, memo, i)) is not None}
    missing = [i for i in ids if i not in found]
    if missing:
        _check_order(memo, (WALLET, missing[0]))
        rows = session.execute(_LOCK_WALLETS, {"ids": missing}).all()
        memo = _memo(session)
        for row in rows:
            _remember(session, memo, (WALLET, row[0].id), (row[0], row[1]))
            found[row[0].id] = row[0]
    return found


# --- everything at once --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockedRows:
    tokens: dict[str, StrategyToken]  # by symbol
    wallets: dict[int, AIWallet]  # by id


def lock_in_order(
    session: Session, *, tokens: Iterable[str] = (), wallets: Iterable[int] = ()
) -> LockedRows:
    """Lock every token (by id), then every wallet (by id): the one entry point for a writer that
    touches several rows. Afterwards re-read and re-validate whatever was read before the call."""
    locked_tokens = lock_tokens(session, tokens)
    locked_wallets = lock_wallets(session, wallets)
    return LockedRows(locked_tokens, locked_wallets)


# --- accounts (the LedgerWriter's flush) ---------------------------------------------------------


def lock_accounts(session: Session, account_ids: Iterable[int]) -> Sequence[Row[Any, Any, Any, Any, Any]]:
    """Lock ledger accounts in ascending id order and return ``(id, balance, kind, code, asset)``.

    Accounts come after every token and wallet, so a transaction locks its accounts once, at the
    end (:meth:`core.ledger.postings.LedgerWriter.flush`). Accounts already held are locked again
    harmlessly; a *new* account below one already held is an order violation.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return []
    memo = _memo(session)
    new = [i for i in ids if (ACCOUNT, i) not in memo.rows]
    if new:
        _check_order(memo, (ACCOUNT, new[0]))
    rows = session.connection().execute(_LOCK_ACCOUNTS, {"ids": ids}).all()
    memo = _memo(session)
    for account_id in new:
        _remember(session, memo, (ACCOUNT, account_id), None)
    return rows


def note_lock(session: Session, level: int, ident: int) -> None:
    """Check and record a lock the caller takes itself at ``level`` (e.g. :data:`CHAIN_HEAD`, taken
    last, after the accounts): raises :class:`LockOrderViolation` when out of order."""
    memo = _memo(session)
    _check_order(memo, (level, ident))
    _remember(session, memo, (level, ident), None)
