"""The Free plan is manual only: creating or switching a Free wallet to an AI mode is refused with
one clear line and nothing is written; Basic and Premium may use every mode."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import ledger
from core.billing.plans import PlanLimit
from core.clock import SimulatedClock
from core.db import Database
from core.models import AIWallet, AuditLog
from core.wallets import set_mode
from tests.support.ledger_world import key, make_org, make_user, make_wallet


def refusal(mode: str) -> str:
    """The one line a Free wallet gets for an AI mode: what is refused and which plan allows it."""
    return (f"the Free plan is manual only: {mode} mode needs an AI plan — the Basic ($50.00/month) plan "
            "allows it; see /plan to upgrade")


def _wallets(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AIWallet)) or 0)


def _mode_audits(db: Database) -> int:
    with db.uow(read_only=True) as uow:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.action == "wallet.mode")
        return int(uow.session.scalar(query) or 0)


def _mode(db: Database, wallet_id: int) -> str:
    with db.uow(read_only=True) as uow:
        wallet = uow.session.get(AIWallet, wallet_id)
        assert wallet is not None
        return wallet.mode.value


@pytest.mark.parametrize("mode", ["full_ai", "hybrid"])
def test_a_free_wallet_cannot_be_created_in_an_ai_mode(any_db: Database, mode: str) -> None:
    org = make_org(any_db)
    before = _wallets(any_db)
    with pytest.raises(PlanLimit) as refused:
        ledger.create_wallet(any_db.uow(), organisation_id=org, name="AI", mode=mode, tier="free",
                             idempotency_key=key("w"))  # fmt: skip
    assert str(refused.value) == refusal(mode)
    assert _wallets(any_db) == before


def test_the_default_tier_is_free_and_therefore_manual_only(any_db: Database) -> None:
    org = make_org(any_db)
    with pytest.raises(PlanLimit, match="manual only"):
        ledger.create_wallet(any_db.uow(), organisation_id=org, name="AI", mode="full_ai",
                             idempotency_key=key("w"))  # fmt: skip
    created = ledger.create_wallet(any_db.uow(), organisation_id=org, name="Plain", idempotency_key=key("w"))
    assert (created.mode, created.tier) == ("manual", "free")


@pytest.mark.parametrize("tier", ["basic", "premium"])
@pytest.mark.parametrize("mode", ["manual", "full_ai", "hybrid"])
def test_paid_tiers_may_be_created_in_every_mode(any_db: Database, tier: str, mode: str) -> None:
    org = make_org(any_db)
    created = ledger.create_wallet(any_db.uow(), organisation_id=org, name="W", mode=mode, tier=tier,
                                   idempotency_key=key("w"))  # fmt: skip
    assert (created.mode, created.tier) == (mode, tier)


@pytest.mark.parametrize("mode", ["full_ai", "hybrid"])
def test_a_free_wallet_cannot_switch_to_an_ai_mode(any_db: Database, clock: SimulatedClock,
                                                   mode: str) -> None:  # fmt: skip
    org = make_org(any_db)
    owner = make_user(any_db, 1001, org)
    wallet = make_wallet(any_db, org, cash="100", tier="free", owner_user_ids=[owner])
    audits = _mode_audits(any_db)
    with pytest.raises(PlanLimit) as refused:
        set_mode(any_db.uow(), wallet, mode, user_id=owner, idempotency_key=key("m"))
    assert str(refused.value) == refusal(mode)
    assert _mode(any_db, wallet) == "manual" and _mode_audits(any_db) == audits
    # Staying manual is allowed (and audited).
    same = set_mode(any_db.uow(), wallet, "manual", user_id=owner, idempotency_key=key("m"))
    assert (same["from"], same["to"]) == ("manual", "manual")
    assert _mode_audits(any_db) == audits + 1


@pytest.mark.parametrize("tier", ["basic", "premium"])
def test_a_paid_wallet_switches_between_every_mode(any_db: Database, tier: str) -> None:
    org = make_org(any_db)
    owner = make_user(any_db, 1001, org)
    wallet = make_wallet(any_db, org, cash="100", tier=tier, owner_user_ids=[owner])
    for old, new in [("manual", "full_ai"), ("full_ai", "hybrid"), ("hybrid", "manual")]:
        switched = set_mode(any_db.uow(), wallet, new, user_id=owner, idempotency_key=key("m"))
        assert (switched["from"], switched["to"]) == (old, new)
        assert _mode(any_db, wallet) == new
