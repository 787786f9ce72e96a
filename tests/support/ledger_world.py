"""Test helpers that build a small, real ledger world (organisation, users, wallets, tokens)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from core import ledger
from core.db import Database
from core.models import Organisation, OrgKind, OrgStatus, Platform, Role, User

_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    """A fresh idempotency key."""
    return f"{prefix}-{next(_keys)}"


def make_org(db: Database, name: str = "Grace Chapel", *, verified: bool = True) -> int:
    with db.uow() as uow:
        org = Organisation(
            name=name,
            kind=OrgKind.CHURCH,
            status=OrgStatus.VERIFIED if verified else OrgStatus.PENDING,
            created_at=uow.clock.now(),
            verified_at=uow.clock.now() if verified else None,
        )
        uow.session.add(org)
        uow.session.flush()
        org_id = org.id
        uow.commit()
    return org_id


def make_user(db: Database, platform_user_id: int, org_id: int | None = None) -> int:
    with db.uow() as uow:
        user = User(
            platform=Platform.TELEGRAM,
            platform_user_id=platform_user_id,
            role=Role.ORG_ADMIN if org_id else Role.VISITOR,
            organisation_id=org_id,
            is_org_admin=org_id is not None,
            created_at=uow.clock.now(),
        )
        uow.session.add(user)
        uow.session.flush()
        user_id = user.id
        uow.commit()
    return user_id


def make_wallet(db: Database, org_id: int, cash: str | None = "10000", **kwargs: object) -> int:
    created = ledger.create_wallet(
        db.uow(), organisation_id=org_id, name=str(kwargs.pop("name", "Main")), idempotency_key=key("w"),
        **kwargs,  # type: ignore[arg-type]
    )
    if cash is not None:
        ledger.deposit(db.uow(), created.wallet_id, cash, idempotency_key=key("d"))
    return created.wallet_id


def make_token(db: Database, symbol: str = "STRAT-MOMENTUM-BTC-001", supply: str = "1000000") -> str:
    created = ledger.tokenize(
        db.uow(), agent_id=None, symbol=symbol, total_supply=supply, status="active", idempotency_key=key("t")
    )
    return created.symbol


def violations(db: Database) -> list[str]:
    with db.uow(read_only=True) as uow:
        return ledger.check_invariants(uow.session)


def total(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


# --- state snapshots and small accessors (ledger tests) ------------------------------------------

#: Every table a ledger service may write; a rejected request must leave all of them unchanged.
LEDGER_TABLES = (
    "ledger_accounts",
    "ledger_transactions",
    "postings",
    "idempotency_keys",
    "audit_log",
    "strategy_tokens",
    "token_holdings",
    "nav_marks",
    "fee_accruals",
    "ai_wallets",
    "wallet_owners",
)


def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every ledger table, ordered by primary key (exact values, as the driver reads them)."""
    from sqlalchemy import text

    out: dict[str, list[tuple[object, ...]]] = {}
    with db.uow(read_only=True) as uow:
        for table in LEDGER_TABLES:
            order = "key" if table == "idempotency_keys" else "id"
            rows = uow.session.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            out[table] = [tuple(row) for row in rows]
    return out


def key_exists(db: Database, idempotency_key: str) -> bool:
    from core.models import IdempotencyKey

    with db.uow(read_only=True) as uow:
        return uow.session.get(IdempotencyKey, idempotency_key) is not None


def wallet_cash(db: Database, wallet_id: int) -> Decimal:
    from core.models import AIWallet

    with db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, wallet_id)
        assert wallet is not None
        return wallet.cash


def token_state(db: Database, symbol: str) -> dict[str, Decimal]:
    """aum, circulating, total_supply, nav, high_water_mark of one token."""
    from sqlalchemy import select

    from core.models import StrategyToken

    with db.uow(read_only=True) as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == symbol)).one()
        return {
            "aum": token.aum,
            "circulating": token.circulating_supply,
            "total_supply": token.total_supply,
            "nav": token.nav_per_token,
            "hwm": token.high_water_mark,
            "peak": token.peak_nav,
        }


def holding_of(db: Database, wallet_id: int, symbol: str) -> tuple[Decimal, Decimal]:
    """(quantity, avg_cost_basis) of a wallet's position; zeros when it never held the token."""
    from sqlalchemy import select

    from core.models import StrategyToken, TokenHolding

    with db.uow(read_only=True) as uow:
        row = uow.session.execute(
            select(TokenHolding.quantity, TokenHolding.avg_cost_basis)
            .join(StrategyToken, StrategyToken.id == TokenHolding.token_id)
            .where(TokenHolding.wallet_id == wallet_id, StrategyToken.symbol == symbol)
        ).one_or_none()
    return (Decimal(0), Decimal(0)) if row is None else (row[0], row[1])


def account_balance(db: Database, code: str) -> Decimal:
    from core.ledger.postings import get_account

    with db.uow(read_only=True) as uow:
        account = get_account(uow.session, code)
        return account.balance if account is not None else Decimal(0)


def set_token_status(db: Database, symbol: str, status: str) -> None:
    """Test set-up shortcut (the token lifecycle service is another area's)."""
    from sqlalchemy import select

    from core.models import StrategyToken, TokenStatus

    with db.uow() as uow:
        token = uow.session.scalars(select(StrategyToken).where(StrategyToken.symbol == symbol)).one()
        token.status = TokenStatus(status)
        uow.commit()
