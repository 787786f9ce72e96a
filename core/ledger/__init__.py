"""The strategy-token ledger: double-entry postings, buy/redeem at NAV, NAV marks and fees.

Public services take a :class:`core.db.UnitOfWork` and an idempotency key, and run as one atomic
transaction: ``create_wallet``, ``deposit``, ``withdraw``, ``tokenize``, ``buy``, ``redeem``,
``mark_nav``, ``accrue_fees``. The ``*_in(session, now, ...)`` variants run inside a caller's
transaction so several trades can be composed atomically (e.g. a wallet rebalance): the caller then
locks every token and wallet up front (``core.ledger.locks.lock_in_order``) and passes one
``LedgerWriter`` to all of them, flushed once — the one lock order, enforced.
Conventions: USD cash to 6 decimals, token units to 18, NAV to 18; rounding favours the pool.
"""

from core.ledger.cash import (
    create_wallet,
    create_wallet_in,
    deposit,
    deposit_in,
    house_wallet,
    withdraw,
    withdraw_in,
)
from core.ledger.fees import nav_of
from core.ledger.guards import TradeIntent, register_check, unregister_check
from core.ledger.idempotency import run_idempotent
from core.ledger.invariants import check_invariants
from core.ledger.issuance import buy, buy_in, get_holding, redeem, redeem_in, tokenize, tokenize_in
from core.ledger.nav import accrue_fees, mark_nav, mark_nav_in
from core.ledger.results import CashMoved, NavMarked, TokenCreated, Trade, WalletCreated

__all__ = [
    "CashMoved",
    "NavMarked",
    "TokenCreated",
    "Trade",
    "TradeIntent",
    "WalletCreated",
    "accrue_fees",
    "buy",
    "buy_in",
    "check_invariants",
    "create_wallet",
    "create_wallet_in",
    "deposit",
    "deposit_in",
    "get_holding",
    "house_wallet",
    "mark_nav",
    "mark_nav_in",
    "nav_of",
    "redeem",
    "redeem_in",
    "register_check",
    "run_idempotent",
    "tokenize",
    "tokenize_in",
    "unregister_check",
    "withdraw",
    "withdraw_in",
]
