"""The exchange and proof commands through the real command layer (telegram identities, real
SQLite): confirmations, the /orders cancel buttons, typed /cancel, pushes to both sides, /proof."""

from __future__ import annotations

import json

from core.audit import merkle
from core.audit.liabilities import publish
from core.commands.types import ChatType
from core.db import Database
from tests.e2e.chat_support import ChatWorld, make_token
from tests.support.ledger_world import violations

SYM = "STRAT-YIELD-USDC-001"


def _two_orgs(db: Database) -> ChatWorld:
    world = ChatWorld(db)
    for user, org in ((100, "Grace Chapel"), (200, "St Mark")):
        world.verify(world.onboard(user, org))
        world.confirm(user, world.say(user, "/deposit 1000"))
    make_token(db, SYM, supply="300")
    world.confirm(100, world.say(100, f"/buy {SYM} 200"))
    return world


def test_ask_bid_fill_pushes_to_both_and_cancel_by_button(sqlite_db: Database) -> None:
    world = _two_orgs(sqlite_db)
    refused = world.say(100, f"/ask {SYM} 10 1.2")
    assert "NAV $1.0000" in refused.text and not refused.buttons
    prompt = world.say(100, f"/ask {SYM} 50 1.01")
    assert "Sell 50 STRAT-YIELD-USDC-001 at $1.0100 per token" in prompt.text
    assert world.say(100, f"/ask {SYM} 50 1.01", edited=True).text.startswith(
        "Edited messages never move money"
    )
    assert "Ask #1 placed" in world.confirm(100, prompt).text
    book = world.say(300, f"/book {SYM}").text  # anyone may look
    assert "$1.0100 x 50 (1)" in book and "sold out" in book
    done = world.confirm(200, world.say(200, f"/bid {SYM} 80 1.02"))
    assert "Filled: bought 50 STRAT-YIELD-USDC-001 at $1.0100 for $50.50" in done.text
    pushed = {(m.chat_id, m.reply.text.split(":")[0]) for m in world.notifier.messages}
    assert {(100, "Exchange fill"), (200, "Exchange fill")} <= pushed
    assert world.say(100, "/cancel 2").text.startswith("You have no order #2")  # not hers
    listing = world.say(200, "/orders")
    assert "#2 bid 30 of 80 STRAT-YIELD-USDC-001 at $1.0200, $30.60 reserved" in listing.text
    cancelled = world.press(200, listing, "Cancel #2")
    assert cancelled.text == "Order #2 cancelled; $30.60 released back to your wallet."
    assert "already cancelled" in world.say(200, "/cancel 2").text
    assert violations(sqlite_db) == []


def test_proof_is_a_json_file_that_verifies(sqlite_db: Database) -> None:
    world = _two_orgs(sqlite_db)
    assert "No proof of liabilities has been published yet" in world.say(100, "/proof").text
    root = publish(sqlite_db)
    reply = world.say(100, "/proof")
    (attachment,) = reply.attachments
    assert attachment.mime_type == "application/json" and root.root in reply.text
    proof = json.loads(attachment.data)
    assert merkle.verify(proof, root.root).ok
    # Grace deposited 1,000 and bought 200 units for 200 at NAV 1.00
    assert proof["balances"] == {"USD": "800.000000", SYM: "200.000000000000000000"}
    assert "private chat" in world.say(100, "/proof", chat_type=ChatType.GROUP).text
