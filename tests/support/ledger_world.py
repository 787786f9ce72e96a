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
