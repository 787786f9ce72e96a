"""Fuzz: random command strings through the command layer raise nothing and write nothing.

10,000 strings by default (seeded, a few seconds); ``ARENA_DEEP_TESTS=1`` runs 100,000. A Hypothesis
property over arbitrary text (modest example count; more when deep) adds shrinking.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.commands.dispatcher import APOLOGY
from core.commands.permissions import PERMISSIONS
from core.commands.types import ChatType
from core.db import Database
from core.models import Base
from tests.e2e.chat_support import ChatWorld, make_token

DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"
COUNT = 100_000 if DEEP else 10_000
NAMES = [*PERMISSIONS, "Buy", "BUY", "st@rt", "", "x" * 40, "buy@arena_bot", "tokens@other_bot"]
JUNK = [
    "0",
    "-1",
    "1e9",
    "NaN",
    "inf",
    "$",
    "1,000.005",
    "0.0000001",
    "99999999999999999999",
    "🙏",
    "'",
    '"',
    "\x00",
    "\n",
    "%s",
    "{}",
    "<b>",
    "STRAT-YIELD-USDC-001",
    "strat-yield-usdc-001",
    "#1",
    "#",
    "http://",
    "https://example.org/x",
    "file:///etc/passwd",
    "full_ai",
    "HYBRID",
    "register",
    "church",
    "v0",
    "a" * 300,
]


def random_line(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    args = [
        rng.choice(JUNK)
        if rng.random() < 0.7
        else "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 8)))
        for _ in range(rng.randint(0, 4))
    ]
    prefix = rng.choice(["/", "/", "/", "", " /", "//"])
    return (prefix + name + " " + " ".join(args))[: rng.choice([30, 200, 2000])]


def row_counts(db: Database) -> dict[str, int]:
    with db.uow(read_only=True) as uow:
        return {
            t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_ten_thousand_random_commands(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    make_token(sqlite_db)
    before = row_counts(sqlite_db)
    rng = random.Random(20250101)
    for i in range(COUNT):
        chat = ChatType.GROUP if i % 3 == 0 else ChatType.PRIVATE
        line = random_line(rng)
        reply = world.layer.handle_line(
            world.ident(500 + i % 7, chat, -7 if chat is ChatType.GROUP else None),
            line,
            f"fuzz{i}",
            via_button=i % 5 == 0,
            edited=i % 11 == 0,
        )
        assert reply.text and reply.text != APOLOGY, line
    assert world.layer.internal_errors == 0
    assert row_counts(sqlite_db) == before


@settings(
    max_examples=2000 if DEEP else 200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=300), button=st.booleans())
def test_arbitrary_text_never_breaks(sqlite_db: Database, text: str, button: bool) -> None:
    world = ChatWorld(sqlite_db)
    reply = world.layer.handle_line(world.ident(900), "/" + text if button else text, "h", via_button=button)
    assert reply.text and reply.text != APOLOGY
