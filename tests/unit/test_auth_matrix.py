"""The authorisation matrix: every role x every command x both chat types, against an explicit
expectation written here (independently of the permission table), plus the registry check."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.commands.permissions import PERMISSIONS
from core.commands.registry import load_all
from core.commands.types import ChatType
from core.db import Database
from core.models import Role, User
from tests.e2e.chat_support import ADMIN_ID, ChatWorld

V, M, VM, OA, PA = "visitor", "member", "verified_member", "org_admin", "platform_admin"
RANK = {V: 0, M: 1, VM: 2, OA: 3, PA: 4}
# command: (lowest role allowed, private chats only)
EXPECTED: dict[str, tuple[str, bool]] = {
    "start": (V, True),
    "help": (V, False),
    "disclosures": (V, False),
    "attest": (V, True),
    "org": (V, True),
    "tokens": (V, False),
    "token": (V, False),
    "strategies": (V, False),
    "backtest": (M, False),
    "import": (M, True),
    "wallet": (M, False),
    "digest": (M, False),
    "buy": (VM, True),
    "sell": (VM, True),
    "deposit": (OA, True),
    "mode": (OA, True),
    "suggest": (VM, False),
    "rebalance": (OA, True),
    "proposals": (VM, False),
    "approve": (OA, False),
    "reject": (OA, False),
    "verify": (PA, True),
    "retire": (PA, True),
    "halt": (PA, True),
    "resume": (PA, True),
    "stats": (PA, True),
    "dashboard": (OA, True),
    "book": (V, False),
    "ask": (VM, True),
    "bid": (VM, True),
    "orders": (VM, True),
    "proof": (M, True),
    "plan": (M, True),
    "risk": (OA, True),
    "agreement": (M, True),
    "apply": (M, True),
    "pending": (PA, True),
    "deny": (PA, True),
    "statement": (M, True),
    "submit": (M, True),
    "bounties": (M, True),
    "apikey": (V, True),
    "cancel": (V, False),  # typed: an exchange order (owners only); as a button: a pending action
}
BUTTON_ONLY = {"confirm", "proposal", "menu"}


def test_registered_handlers_equal_the_permission_table() -> None:
    assert set(load_all()) == set(PERMISSIONS)
    assert set(EXPECTED) | BUTTON_ONLY == set(PERMISSIONS)
    assert {n for n, p in PERMISSIONS.items() if p.button_only} == BUTTON_ONLY


@pytest.fixture(scope="module")
def people(
    _sqlite_template: object, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ChatWorld, dict[str, int]]:
    from core.clock import SimulatedClock
    from tests.conftest import START, make_sqlite_db

    db: Database = make_sqlite_db(_sqlite_template, tmp_path_factory.mktemp("auth"), SimulatedClock(START))  # type: ignore[arg-type]
    world = ChatWorld(db)
    world.onboard(20, "Pending Church")  # member: attested, organisation pending
    world.verify(world.onboard(30, "Verified Church"))  # org admin (registrant, wallet owner)
    org = world.onboard(40, "Member Church")
    with db.uow() as uow:  # a verified member who is not the organisation's admin
        uow.session.execute(update(User).where(User.platform_user_id == 40).values(is_org_admin=False))
        uow.commit()
    world.verify(org)
    return world, {V: 10, M: 20, VM: 40, OA: 30, PA: ADMIN_ID}


@pytest.mark.parametrize("role", [V, M, VM, OA, PA])
@pytest.mark.parametrize("chat_type", [ChatType.PRIVATE, ChatType.GROUP])
def test_matrix(people: tuple[ChatWorld, dict[str, int]], role: str, chat_type: ChatType) -> None:
    world, ids = people
    identity = world.ident(ids[role], chat_type, chat_id=ids[role] if chat_type is ChatType.PRIVATE else -500)
    for name, (lowest, private_only) in EXPECTED.items():
        decision = world.layer.authorize(identity, name)
        expected = RANK[role] >= RANK[lowest] and (chat_type is ChatType.PRIVATE or not private_only)
        assert decision.allowed is expected, (role, chat_type, name, decision.reason)
        if expected:
            assert decision.role is Role(role)
        else:
            assert decision.reason  # a clear, short answer
            assert len(decision.reason) < 120
    for name in BUTTON_ONLY:  # typed as commands they do not exist
        assert not world.layer.authorize(identity, name).allowed
        assert world.layer.authorize(identity, name, via_button=True).allowed is (
            name != "proposal" or RANK[role] >= RANK[OA]
        )


def test_money_commands_refused_from_edited_messages(people: tuple[ChatWorld, dict[str, int]]) -> None:
    world, ids = people
    for name in ("buy", "sell", "deposit", "rebalance"):
        decision = world.layer.authorize(world.ident(ids[OA]), name, edited=True)
        assert not decision.allowed and "Edited messages" in decision.reason


def test_only_owners_trade_a_wallet(people: tuple[ChatWorld, dict[str, int]]) -> None:
    world, ids = people
    # The verified member is not an owner of the organisation's wallet: refused by the service check.
    assert "Only the wallet's owners" in world.say(ids[VM], "/buy STRAT-NONE-X-001 5").text
    assert "wallet's owners" in world.say(ids[VM], "/suggest").text.lower()  # the wallet service's check
