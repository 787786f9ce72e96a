"""What one exchange operation changes, held in memory and written once at its end (Core SQL).

A placement may fill against several resting orders, touching the same wallets and holdings more
than once; :class:`Positions` loads each row once (under the wallet locks the caller already holds),
applies every change in memory and writes each row once. ORM objects of the same rows that the
session holds are kept in sync (``set_committed_value``), as :mod:`core.ledger.rows` does.

Units: USD cash, token units, average cost basis in USD per token (18 decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.models import AIWallet, TokenHolding

HOLDINGS = cast(Table, TokenHolding.__table__)
WALLETS = cast(Table, AIWallet.__table__)
ZERO = Decimal(0)

_READ_HOLDING = select(
    HOLDINGS.c.id,
    HOLDINGS.c.quantity,
    HOLDINGS.c.avg_cost_basis,
    HOLDINGS.c.realized_pnl,
    HOLDINGS.c.reserved,
).where(HOLDINGS.c.wallet_id == bindparam("b_wallet"), HOLDINGS.c.token_id == bindparam("b_token"))
_READ_HOLDINGS = select(
    HOLDINGS.c.id,
    HOLDINGS.c.wallet_id,
    HOLDINGS.c.quantity,
    HOLDINGS.c.avg_cost_basis,
    HOLDINGS.c.realized_pnl,
    HOLDINGS.c.reserved,
).where(
    HOLDINGS.c.token_id == bindparam("b_token"),
    HOLDINGS.c.wallet_id.in_(bindparam("b_wallets", expanding=True)),
)
_INSERT_HOLDING = insert(HOLDINGS).returning(HOLDINGS.c.id)
_UPDATE_HOLDING = (
    update(HOLDINGS)
    .where(HOLDINGS.c.id == bindparam("b_id"))
    .values(
        quantity=bindparam("b_qty"),
        avg_cost_basis=bindparam("b_avg"),
        realized_pnl=bindparam("b_pnl"),
        reserved=bindparam("b_reserved"),
        updated_at=bindparam("b_at"),
    )
)
_UPDATE_WALLET = (
    update(WALLETS)
    .where(WALLETS.c.id == bindparam("b_id"))
    .values(cash=bindparam("b_cash"), cash_reserved=bindparam("b_reserved"))
)


@dataclass(slots=True)
class Holding:
    id: int | None
    wallet_id: int
    token_id: int
    quantity: Decimal
    avg_cost_basis: Decimal
    realized_pnl: Decimal
    reserved: Decimal

    @property
    def free(self) -> Decimal:
        return self.quantity - self.reserved


@dataclass(slots=True)
class Cash:
    wallet: AIWallet
    cash: Decimal
    reserved: Decimal

    @property
    def free(self) -> Decimal:
        return self.cash - self.reserved


class Positions:
    """Holdings of one token and wallets' cash, read once and written once."""

    def __init__(self, session: Session, token_id: int) -> None:
        self.session = session
        self.token_id = token_id
        self._holdings: dict[int, Holding] = {}
        self._cash: dict[int, Cash] = {}

    def holding(self, wallet_id: int) -> Holding:
        found = self._holdings.get(wallet_id)
        if found is not None:
            return found
        if self.session.new:  # Core statements do not autoflush
            self.session.flush()
        row = (
            self.session.connection()
            .execute(_READ_HOLDING, {"b_wallet": wallet_id, "b_token": self.token_id})
            .first()
        )
        found = self._holdings[wallet_id] = self._from_row(wallet_id, row)
        return found

    def preload(self, wallet_ids: list[int]) -> None:
        """Read the holdings of several wallets (locked by the caller) in one statement."""
        wanted = sorted({w for w in wallet_ids if w not in self._holdings})
        if len(wanted) < 2:  # one wallet: :meth:`holding` reads it when needed (or never)
            return
        if self.session.new:
            self.session.flush()
        rows = {
            row.wallet_id: row
            for row in self.session.connection().execute(
                _READ_HOLDINGS, {"b_token": self.token_id, "b_wallets": wanted}
            )
        }
        for wallet_id in wanted:
            self._holdings[wallet_id] = self._from_row(wallet_id, rows.get(wallet_id))

    def _from_row(self, wallet_id: int, row: Any) -> Holding:
        if row is None:
            return Holding(None, wallet_id, self.token_id, ZERO, ZERO, ZERO, ZERO)
        obj = self.session.identity_map.get(self.session.identity_key(TokenHolding, row.id))
        source = obj if isinstance(obj, TokenHolding) else row  # in-memory values are the truth
        return Holding(row.id, wallet_id, self.token_id, source.quantity, source.avg_cost_basis,
                       source.realized_pnl, source.reserved)

    def add_wallet(self, wallet: AIWallet) -> Cash:
        """Track a wallet's cash (its row must be locked by the caller)."""
        found = self._cash.get(wallet.id)
        if found is None:
            found = self._cash[wallet.id] = Cash(wallet, wallet.cash, wallet.cash_reserved)
        return found

    def cash_of(self, wallet_id: int) -> Cash:
        return self._cash[wallet_id]

    def write(self, now: datetime) -> None:
        """Insert new holdings (one by one: their ids come back), then update the changed rows
        with one executemany per table (one round trip each on psycopg)."""
        conn = self.session.connection()
        updates: list[dict[str, Any]] = []
        for h in self._holdings.values():
            values = {
                "quantity": h.quantity,
                "avg_cost_basis": h.avg_cost_basis,
                "realized_pnl": h.realized_pnl,
                "reserved": h.reserved,
                "updated_at": now,
            }
            if h.id is None:
                h.id = conn.execute(
                    _INSERT_HOLDING, {"wallet_id": h.wallet_id, "token_id": h.token_id, **values}
                ).scalar_one()
                continue
            updates.append(
                {
                    "b_id": h.id,
                    "b_qty": h.quantity,
                    "b_avg": h.avg_cost_basis,
                    "b_pnl": h.realized_pnl,
                    "b_reserved": h.reserved,
                    "b_at": now,
                }
            )
            obj = self.session.identity_map.get(self.session.identity_key(TokenHolding, h.id))
            if isinstance(obj, TokenHolding):
                for key, value in values.items():
                    set_committed_value(obj, key, value)
        if updates:
            conn.execute(_UPDATE_HOLDING, updates)
        cash = [
            {"b_id": c.wallet.id, "b_cash": c.cash, "b_reserved": c.reserved} for c in self._cash.values()
        ]
        if cash:
            conn.execute(_UPDATE_WALLET, cash)
        for c in self._cash.values():
            set_committed_value(c.wallet, "cash", c.cash)
            set_committed_value(c.wallet, "cash_reserved", c.reserved)
