"""Hybrid wallets in chat, over the real command layer (SQLite file and PostgreSQL): /rebalance
proposes instead of trading and the Approve button executes the proposal once; a proposal made by
one owner is pushed, with its buttons, to the organisation's other owner, who can decide it; a
Premium wallet's /risk maxweight caps what its proposals allocate."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.commands.types import Reply
from core.db import Database
from core.models import User
from core.models.wallets import AllocationSnapshot, WalletOwner
from tests.e2e.chat_support import ChatWorld
from tests.support.hybrid import executions, holdings, proposal_id_in, tokens_with_history, wallet_of

FIRST, SECOND = 100, 300


def _hybrid_world(db: Database) -> tuple[ChatWorld, int, int]:
    """A verified church on Basic in hybrid mode with $10,000: (world, organisation, wallet)."""
    tokens_with_history(db)
    world = ChatWorld(db)
    org = world.onboard(FIRST)
    world.verify(org)
    world.confirm(FIRST, world.say(FIRST, "/deposit 10,000"))
    world.confirm(FIRST, world.say(FIRST, "/plan basic"))  # hybrid needs an AI plan
    assert world.say(FIRST, "/mode hybrid").text.startswith("Mode is now hybrid")
    return world, org, wallet_of(db, org)


def _buttons(reply: Reply) -> list[tuple[str, str]]:
    return [(b.label, b.action) for b in reply.all_buttons()]


def test_rebalance_on_hybrid_proposes_and_the_button_executes_once(any_db: Database) -> None:
    world, _, wallet = _hybrid_world(any_db)
    card = world.say(FIRST, "/rebalance")
    pid = proposal_id_in(card.text)
    assert card.text.startswith(f"Proposal #{pid}") and "Target allocation:" in card.text
    assert _buttons(card) == [("Approve", f"proposal approve {pid}"), ("Reject", f"proposal reject {pid}")]
    assert holdings(any_db, wallet) == 0 and executions(any_db, wallet) == 0  # a proposal, no trade

    approved = world.press(FIRST, card, "Approve")
    assert approved.text.startswith(f"Approved proposal #{pid}: ") and "- bought " in approved.text
    traded = holdings(any_db, wallet)
    assert traded >= 1 and executions(any_db, wallet) == 1
    # The same button again, and the typed command: one effect.
    assert world.press(FIRST, card, "Approve").text.startswith("Already done")
    assert world.say(FIRST, f"/approve {pid}").text.startswith("Already done")
    assert executions(any_db, wallet) == 1 and holdings(any_db, wallet) == traded
    assert "No proposals are waiting" in world.say(FIRST, "/proposals").text


def _second_owner(world: ChatWorld, org: int, wallet: int) -> None:
    """A second admin of the organisation who co-owns its wallet. There is no chat command that
    adds one, so after attesting in chat the membership is written as verification would have."""
    reply = world.say(SECOND, "/start")
    while reply.step == "attest":
        reply = world.press(SECOND, reply, reply.all_buttons()[0].label)
    with world.db.uow() as uow:
        user = uow.session.scalars(select(User).where(User.platform_user_id == SECOND)).one()
        user.organisation_id, user.is_org_admin = org, True
        uow.session.add(WalletOwner(wallet_id=wallet, user_id=user.id))
        uow.commit()


def test_a_proposal_is_pushed_to_the_other_owner_who_can_approve_it(any_db: Database) -> None:
    world, org, wallet = _hybrid_world(any_db)
    _second_owner(world, org, wallet)
    pushed_before = len(world.notifier.messages)
    card = world.say(FIRST, "/suggest")
    pid = proposal_id_in(card.text)

    pushed = world.notifier.messages[pushed_before:]
    # Only the other owner is pushed the card; the one who asked has it as the reply.
    assert [(m.platform, m.chat_id) for m in pushed] == [("telegram", SECOND)]
    assert pushed[0].reply.text == card.text
    assert _buttons(pushed[0].reply) == [("Approve", f"proposal approve {pid}"),
                                         ("Reject", f"proposal reject {pid}")]

    approved = world.press(SECOND, pushed[0].reply, "Approve")
    assert approved.text.startswith(f"Approved proposal #{pid}: ") and "- bought " in approved.text
    assert executions(any_db, wallet) == 1
    # The first owner's own button now answers that it is done; nothing runs twice.
    assert world.press(FIRST, card, "Approve").text.startswith("Already done")
    assert executions(any_db, wallet) == 1


def test_a_premium_max_weight_caps_the_proposal(any_db: Database) -> None:
    world, _, wallet = _hybrid_world(any_db)
    world.confirm(FIRST, world.say(FIRST, "/plan premium"))
    assert "Max weight per token: 10%." in world.say(FIRST, "/risk maxweight 10").text
    card = world.say(FIRST, "/suggest")
    proposal_id_in(card.text)
    with any_db.uow(read_only=True) as uow:
        snapshot = uow.session.scalars(select(AllocationSnapshot).where(
            AllocationSnapshot.wallet_id == wallet).order_by(AllocationSnapshot.id.desc())).first()
        assert snapshot is not None
        weights = {s: Decimal(str(w)) for s, w in snapshot.weights.items()}
        cash = snapshot.cash_weight
    # Five tokens with history, at most 10 % each: at most 50 % invested, at least 50 % cash.
    assert weights and all(Decimal(0) < w <= Decimal("0.1") for w in weights.values())
    assert cash >= Decimal("0.5") and cash == 1 - sum(weights.values(), Decimal(0))
    assert "in at the 10% cap per token" in card.text  # the reasons name the wallet's own cap
