"""Core-SQL reads and writes of the rows a trade changes: token, wallet and holding.

Statements run on ``session.connection()`` (the session's transaction), skipping the ORM session's
per-statement dispatch; they never autoflush, so pending ORM inserts are flushed first.

A trade used to change these through the ORM, which paid for dirty tracking and a unit-of-work
flush per trade. Here each is one prepared ``UPDATE`` (and the holding one ``SELECT``); every ORM
object of the same row that the session holds is kept in sync with
:func:`sqlalchemy.orm.attributes.set_committed_value`, i.e. it shows the new value and has no
pending change, exactly as if it had been flushed and reloaded. Values written are the objects'
current in-memory values, so a pending ORM change made earlier in the transaction is not lost.

Units: Decimal cash (USD) and token quantities; aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.models import AIWallet, StrategyToken, TokenHolding

TOKENS = cast(Table, StrategyToken.__table__)
WALLETS = cast(Table, AIWallet.__table__)
HOLDINGS = cast(Table, TokenHolding.__table__)
ZERO = Decimal(0)

_TOKEN_UPDATE = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("b_id"))
    .values(
        circulating_supply=bindparam("b_supply"),
        aum=bindparam("b_aum"),
        nav_per_token=bindparam("b_nav"),
        fees_accrued_until=bindparam("b_fees_until"),
    )
)
_WALLET_UPDATE = update(WALLETS).where(WALLETS.c.id == bindparam("b_id")).values(cash=bindparam("b_cash"))
_HOLDING_SELECT = select(
    HOLDINGS.c.id,
    HOLDINGS.c.quantity,
    HOLDINGS.c.avg_cost_basis,
    HOLDINGS.c.realized_pnl,
    HOLDINGS.c.reserved,
).where(HOLDINGS.c.wallet_id == bindparam("b_wallet"), HOLDINGS.c.token_id == bindparam("b_token"))
_HOLDING_INSERT = insert(HOLDINGS).returning(HOLDINGS.c.id)
_HOLDING_UPDATE = (
    update(HOLDINGS)
    .where(HOLDINGS.c.id == bindparam("b_id"))
    .values(
        quantity=bindparam("b_quantity"),
        avg_cost_basis=bindparam("b_avg"),
        realized_pnl=bindparam("b_pnl"),
        updated_at=bindparam("b_at"),
    )
)


# PostgreSQL only: a trade's three row updates (holding, wallet cash, token) as one statement with
# data-modifying CTEs — one round trip instead of three. The rows are distinct tables, all already
# locked by the transaction (token, wallet) or written under the wallet's lock (holding).
_PG_TRADE_ROWS = (
    update(TOKENS)
    .where(TOKENS.c.id == bindparam("t_id"))
    .values(
        circulating_supply=bindparam("t_supply"),
        aum=bindparam("t_aum"),
        nav_per_token=bindparam("t_nav"),
        fees_accrued_until=bindparam("t_fees_until"),
    )
    .add_cte(
        update(HOLDINGS)
        .where(HOLDINGS.c.id == bindparam("h_id"))
        .values(
            quantity=bindparam("h_quantity"),
            avg_cost_basis=bindparam("h_avg"),
            realized_pnl=bindparam("h_pnl"),
            updated_at=bindparam("h_at"),
        )
        .cte("trade_holding")
    )
    .add_cte(
        update(WALLETS)
        .where(WALLETS.c.id == bindparam("w_id"))
        .values(cash=bindparam("w_cash"))
        .cte("trade_wallet")
    )
)


def _sync(obj: object, values: dict[str, Any]) -> None:
    for key, value in values.items():
        set_committed_value(obj, key, value)


@dataclass(slots=True)
class Position:
    """A wallet's holding of one token, read for a trade (``row`` is its ORM object if loaded)."""

    id: int | None  # None: no row yet
    wallet_id: int
    token_id: int
    quantity: Decimal
    avg_cost_basis: Decimal
    realized_pnl: Decimal
    row: TokenHolding | None
    reserved: Decimal = ZERO  # units locked by open exchange asks (not redeemable)


def read_position(session: Session, wallet_id: int, token_id: int) -> Position:
    """The holding of ``wallet_id`` in ``token_id`` (all zero, ``id`` None, if it has none yet:
    :func:`write_position` then inserts it)."""
    # Core statements do not autoflush: flush pending ORM rows (e.g. a holding just added) first.
    if session.new:
        session.flush()
    found = session.connection().execute(
        _HOLDING_SELECT, {"b_wallet": wallet_id, "b_token": token_id}
    ).first()
    if found is None:
        return Position(None, wallet_id, token_id, ZERO, ZERO, ZERO, None)
    return _position(session, wallet_id, token_id, found.id, found.quantity, found.avg_cost_basis,
                     found.realized_pnl, found.reserved)


def position_from_lock(session: Session, wallet_id: int, token_id: int, row: Any) -> Position:
    """The :class:`Position` in a row of :func:`core.ledger.locks.lock_wallet_with_holding`."""
    if row.h_id is None:
        return Position(None, wallet_id, token_id, ZERO, ZERO, ZERO, None)
    return _position(session, wallet_id, token_id, row.h_id, row.h_quantity, row.h_avg_cost_basis,
                     row.h_realized_pnl, row.h_reserved)


def _position(session: Session, wallet_id: int, token_id: int, holding_id: int, quantity: Decimal,
              avg_cost_basis: Decimal, realized_pnl: Decimal, reserved: Decimal) -> Position:
    obj = session.identity_map.get(session.identity_key(TokenHolding, holding_id))
    if isinstance(obj, TokenHolding):  # its in-memory values are the transaction's truth
        return Position(holding_id, wallet_id, token_id, obj.quantity, obj.avg_cost_basis,
                        obj.realized_pnl, obj, obj.reserved)
    return Position(holding_id, wallet_id, token_id, quantity, avg_cost_basis, realized_pnl, None,
                    reserved)


def write_position(session: Session, position: Position, now: datetime) -> None:
    values = {
        "quantity": position.quantity,
        "avg_cost_basis": position.avg_cost_basis,
        "realized_pnl": position.realized_pnl,
        "updated_at": now,
    }
    conn = session.connection()
    if position.id is None:
        position.id = conn.execute(
            _HOLDING_INSERT, {"wallet_id": position.wallet_id, "token_id": position.token_id, **values}
        ).scalar_one()
        return
    conn.execute(
        _HOLDING_UPDATE,
        {
            "b_id": position.id,
            "b_quantity": position.quantity,
            "b_avg": position.avg_cost_basis,
            "b_pnl": position.realized_pnl,
            "b_at": now,
        },
    )
    if position.row is not None:
        _sync(position.row, values)


def write_token(
    session: Session,
    token: StrategyToken,
    *,
    circulating_supply: Decimal,
    aum: Decimal,
    nav_per_token: Decimal,
) -> None:
    """Store the token's supply, AUM, NAV and fee clock (its in-memory ``fees_accrued_until``)."""
    values = {
        "circulating_supply": circulating_supply,
        "aum": aum,
        "nav_per_token": nav_per_token,
        "fees_accrued_until": token.fees_accrued_until,
    }
    session.connection().execute(
        _TOKEN_UPDATE,
        {
            "b_id": token.id,
            "b_supply": circulating_supply,
            "b_aum": aum,
            "b_nav": nav_per_token,
            "b_fees_until": values["fees_accrued_until"],
        },
    )
    _sync(token, values)


def write_wallet_cash(session: Session, wallet: AIWallet, cash: Decimal) -> None:
    session.connection().execute(_WALLET_UPDATE, {"b_id": wallet.id, "b_cash": cash})
    _sync(wallet, {"cash": cash})


def write_trade_rows(
    session: Session,
    position: Position,
    wallet: AIWallet,
    cash: Decimal,
    token: StrategyToken,
    *,
    circulating_supply: Decimal,
    aum: Decimal,
    nav_per_token: Decimal,
    now: datetime,
) -> None:
    """:func:`write_position`, :func:`write_wallet_cash` (to ``cash``) and :func:`write_token` at
    once: on PostgreSQL, for an existing holding, one statement; otherwise the three in turn."""
    conn = session.connection()
    if position.id is None or conn.dialect.name != "postgresql":
        write_position(session, position, now)
        write_wallet_cash(session, wallet, cash)
        write_token(
            session, token, circulating_supply=circulating_supply, aum=aum, nav_per_token=nav_per_token
        )
        return
    conn.execute(
        _PG_TRADE_ROWS,
        {
            "h_id": position.id,
            "h_quantity": position.quantity,
            "h_avg": position.avg_cost_basis,
            "h_pnl": position.realized_pnl,
            "h_at": now,
            "w_id": wallet.id,
            "w_cash": cash,
            "t_id": token.id,
            "t_supply": circulating_supply,
            "t_aum": aum,
            "t_nav": nav_per_token,
            "t_fees_until": token.fees_accrued_until,
        },
    )
    if position.row is not None:
        _sync(
            position.row,
            {
                "quantity": position.quantity,
                "avg_cost_basis": position.avg_cost_basis,
                "realized_pnl": position.realized_pnl,
                "updated_at": now,
            },
        )
    _sync(wallet, {"cash": cash})
    _sync(
        token,
        {
            "circulating_supply": circulating_supply,
            "aum": aum,
            "nav_per_token": nav_per_token,
            "fees_accrued_until": token.fees_accrued_until,
        },
    )
