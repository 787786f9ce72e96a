"""Ledger invariants, checked by ``arena ledger check`` and after every test step.

Amounts are summed in Python with ``Decimal`` (SQLite stores them as text, and a SQL ``SUM`` there
would go through floating point). Each violation is a human-readable string.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.chain import verify_chain
from core.distributions.checks import distribution_violations
from core.ledger.postings import (
    token_pool_code,
    token_unissued_code,
    wallet_cash_code,
    wallet_cash_reserved_code,
    wallet_tokens_code,
    wallet_tokens_reserved_code,
)
from core.models import AIWallet, FeeAccrual, LedgerAccount, Posting, StrategyToken, TokenHolding
from core.models.ledger import NEGATIVE_ALLOWED
from core.money import ledger_context

ZERO = Decimal(0)


def check_invariants(session: Session) -> list[str]:
    """Every ledger invariant, summed exactly (the ledger's 60-digit context: a 1e12-unit token's
    balances carry 31 digits, which Python's default 28-digit context would round)."""
    with localcontext(ledger_context()):
        return _violations(session)


def _violations(session: Session) -> list[str]:
    violations: list[str] = []
    accounts = {a.id: a for a in session.scalars(select(LedgerAccount))}
    by_code = {a.code: a for a in accounts.values()}
    per_txn: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    per_account: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = session.execute(select(Posting.transaction_id, Posting.account_id, Posting.asset, Posting.amount))
    for txn_id, account_id, asset, amount in rows:
        per_txn[(txn_id, asset)] += amount
        per_account[account_id] += amount
        account = accounts.get(account_id)
        if account is not None and account.asset != asset:
            violations.append(
                f"posting in transaction {txn_id} has asset {asset} but account "
                f"{account.code} holds {account.asset}"
            )
    for (txn_id, asset), total in sorted(per_txn.items()):
        if total != 0:
            violations.append(f"transaction {txn_id} does not balance in {asset}: {total}")
    for account in accounts.values():
        posted = per_account.get(account.id, ZERO)
        if account.balance != posted:
            violations.append(f"account {account.code} balance {account.balance} != postings {posted}")
        if account.balance < 0 and account.kind not in NEGATIVE_ALLOWED:
            violations.append(f"account {account.code} is negative: {account.balance}")

    def balance(code: str) -> Decimal:
        account = by_code.get(code)
        return account.balance if account is not None else ZERO

    holdings_by_token: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for holding in session.scalars(select(TokenHolding)):
        holdings_by_token[holding.token_id] += holding.quantity
        if holding.quantity < 0:
            violations.append(f"holding wallet {holding.wallet_id} token {holding.token_id} is negative")
        # reserved + free = balance: the holding is its free plus its reserved (open asks) account
        reserved_qty = balance(wallet_tokens_reserved_code(holding.wallet_id, holding.token_id))
        ledger_qty = balance(wallet_tokens_code(holding.wallet_id, holding.token_id)) + reserved_qty
        if holding.reserved != reserved_qty:
            violations.append(
                f"holding wallet {holding.wallet_id} token {holding.token_id}: reserved "
                f"{holding.reserved} != ledger {reserved_qty}"
            )
        if ledger_qty != holding.quantity:
            violations.append(
                f"holding wallet {holding.wallet_id} token {holding.token_id}: quantity "
                f"{holding.quantity} != ledger {ledger_qty}"
            )
    for token in session.scalars(select(StrategyToken)):
        held = holdings_by_token.get(token.id, ZERO)
        if token.circulating_supply != held:
            violations.append(f"{token.symbol}: circulating {token.circulating_supply} != holdings {held}")
        if not ZERO <= token.circulating_supply <= token.total_supply:
            violations.append(
                f"{token.symbol}: circulating {token.circulating_supply} outside "
                f"[0, total_supply {token.total_supply}]"
            )
        unissued = balance(token_unissued_code(token.id))
        if unissued != token.total_supply - token.circulating_supply:
            violations.append(f"{token.symbol}: unissued {unissued} != total_supply - circulating")
        pool = balance(token_pool_code(token.id))
        if token.aum != pool:
            violations.append(f"{token.symbol}: aum {token.aum} != pool account {pool}")
        if token.aum < 0:
            violations.append(f"{token.symbol}: negative aum {token.aum}")
    for wallet in session.scalars(select(AIWallet)):
        reserved_cash = balance(wallet_cash_reserved_code(wallet.id))
        ledger_cash = balance(wallet_cash_code(wallet.id)) + reserved_cash
        if wallet.cash_reserved != reserved_cash:
            violations.append(
                f"wallet {wallet.id}: reserved cash {wallet.cash_reserved} != ledger {reserved_cash}"
            )
        if wallet.cash != ledger_cash:
            violations.append(f"wallet {wallet.id}: cash {wallet.cash} != ledger {ledger_cash}")
        if wallet.cash < 0:
            violations.append(f"wallet {wallet.id}: negative cash {wallet.cash}")
    insurance_accrued = sum((f.insurance_amount for f in session.scalars(select(FeeAccrual))), ZERO)
    if balance("platform:insurance") != insurance_accrued:
        violations.append(f"insurance fund {balance('platform:insurance')} != accrued {insurance_accrued}")
    from core.exchange.invariants import reservation_violations  # core.exchange builds on the ledger

    violations.extend(reservation_violations(session, balance))
    from core.billing.revenue import revenue_violations  # core.billing builds on the ledger

    violations.extend(revenue_violations(session, balance))
    violations.extend(verify_chain(session))
    violations.extend(distribution_violations(session))
    return violations
