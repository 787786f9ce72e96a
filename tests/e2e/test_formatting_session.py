"""People read the output: a scripted treasurer session (onboarding, tokens, trades with fees, dust,
bad amounts, hybrid proposal and approval, digest, backtest card, admin stats) rendered by every
adapter's renderer — the console, Telegram (python-telegram-bot's Bot over an offline request) and
Discord (discord.py's message chunks and button views) — and every text and button label checked:
no number with more than 6 decimals, no exponent, no raw Python or JSON structure."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.console_chat import ConsoleChat, ConsoleNotifier, console_user_id
from bot.discord_bot.render import chunks_for, view_for
from bot.telegram_bot.offline import OfflineRequest
from bot.telegram_bot.render import send_reply
from core import ledger
from core.clock import SimulatedClock
from core.commands.cards import backtest_card
from core.commands.context import Hooks
from core.commands.dispatcher import CommandLayer
from core.commands.types import Reply
from core.db import Database
from tests.e2e.chat_support import make_settings
from tests.support.hybrid import SYMBOLS, tokens_with_history

TOKEN = "123456:OFFLINE-test-token-aaaaaaaaaaaaaaaaaaaaaaaa"
LONG_NAME = "A very long strategy name that keeps going well past what fits on one chat line"

TOO_PRECISE = re.compile(r"\d\.\d{7,}")
EXPONENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?!\w)")
RAW = re.compile(r"[\[{(]\s*['\"]|['\"]\s*:\s*[\d\[{'\"]|Decimal\(|datetime\.|\bNone\b|\bTrue\b|\bFalse\b"
                 r"|<\w[\w.]* object at")


def problems(text: str) -> list[str]:
    """What a person should never read in ``text``."""
    found = []
    for name, pattern in (("too many decimals", TOO_PRECISE), ("exponent", EXPONENT), ("raw data", RAW)):
        match = pattern.search(text)
        if match:
            start = max(match.start() - 30, 0)
            found.append(f"{name}: ...{text[start:match.end() + 30]}...")
    return found


def test_the_check_catches_what_people_were_shown_before() -> None:
    assert problems("Redeemed 5000.000000000000000000 STRAT-A")
    assert problems("wallet holds 5105.468041813034985726")
    assert problems("amount 1E+12 exceeds the limit of 1000000000")
    assert problems('Backtest of #3: {"days": 365, "sharpe": 1.2345678901}')
    assert problems("{'note': 'x'}") and problems("Decimal('1.5')") and problems("got None")
    assert not problems("Bought 1,234.567891 STRAT-A for $1,234.56 at NAV $1.0012 (code 3e5f9a)")


def _session(sym: str, long_sym: str) -> list[str]:
    return [
        "/start", "#press attest", "#press attest", "#press attest", "#press attest",
        "#press org register church", "Grace Chapel", "/agreement", "#press agreement agree",
        "hello there",
        "@admin /verify 1", "/help", "/tokens", f"/token {sym}", f"/token {long_sym}",
        "/deposit 12,345.67", "#press confirm",
        "/buy NOPE 5", f"/buy {sym} 1,5", f"/buy {sym} 1e999999999", f"/buy {sym} 0.001",
        f"/buy {sym} 99,999,999", f"/buy {sym} 1,234.56", "#press confirm", "#press confirm",
        "/wallet", "/digest",
        "/mode hybrid", "/plan", "/plan basic", "#press confirm", "/mode hybrid", "/suggest", "/proposals",
        "#press approve",
        f"/sell {sym} 10.123456789", "#press confirm",
        f"/sell {sym} 99999", f"/sell {long_sym} 1",
        "/strategies", "/backtest 7", "@admin /stats", "/org", "/disclosures",
        "/mode manual", "/suggest", "/mode full_ai", "/rebalance", "/wallet", "/digest",
        f"/sell {sym} all", "#press confirm", "/wallet", "/approve 999",
    ]


def _run(db: Database, tmp_path: Path) -> list[Reply]:
    clock = db.clock
    assert isinstance(clock, SimulatedClock)
    tokens_with_history(db)
    long_sym = "STRAT-LONGNAME-USDC-001"
    ledger.tokenize(db.uow(), agent_id=None, symbol=long_sym, total_supply="1000000", status="active",
                    name=LONG_NAME, idempotency_key="tok-long")
    metrics = {"days": 365, "total_return": 0.123456789, "cagr": 0.1234567891, "volatility": 0.0456789,
               "sharpe": 1.23456789, "max_drawdown": 0.0876543219, "psr": 0.987654321, "dsr": 0.91234567,
               "n_trades": 42, "hodl_return": -0.0345678912}
    hooks = Hooks(run_backtest=lambda cid: backtest_card(f"Backtest of candidate #{cid}:", metrics))
    settings = make_settings(platform_admins=f"console:{console_user_id('admin')}")
    notifier = ConsoleNotifier()
    replies: list[Reply] = []
    seen = notifier.notify

    def collect(message: object) -> None:
        replies.append(message.reply)  # type: ignore[attr-defined]
        seen(message)  # type: ignore[arg-type]

    notifier.notify = collect  # type: ignore[method-assign]
    chat = ConsoleChat(CommandLayer(db, settings, hooks=hooks, notifier=notifier), "grace",
                       write=lambda line: None, files_dir=tmp_path)
    notifier.chat = chat
    for line in _session(SYMBOLS[0], long_sym):
        if line.startswith("#press"):  # press the newest button whose action starts with ...
            wanted = line.removeprefix("#press ").replace("approve", "proposal approve")
            number = max(n for n, a in chat.buttons.items() if a == wanted or a.startswith(wanted + " "))
            line = f"press {number}"
        reply = chat.handle(line)
        if reply is not None:
            replies.append(reply)
        clock.advance(timedelta(minutes=7))  # fees accrue: NAVs with many decimals
    return replies


def _texts(reply: Reply) -> list[str]:
    return [reply.text, *(b.label for b in reply.all_buttons()), *(a.caption for a in reply.attachments)]


async def test_every_adapter_renders_the_session_for_people(sqlite_db: Database, tmp_path: Path) -> None:
    replies = _run(sqlite_db, tmp_path)
    joined = "\n".join(r.text for r in replies)
    # The session reached what it is meant to exercise (so the check below has something to check).
    for expected in ("Bought ", "Redeemed ", "Approved proposal #", "Daily digest", "Sharpe ratio: 1.23",
                     "write it like 1000", "at least $0.01 (one cent)", "…", "Token AUM", "Rebalanced"):
        assert expected in joined, expected
    console_lines: list[str] = []
    console = ConsoleChat(CommandLayer(sqlite_db, make_settings()), "reader", write=console_lines.append,
                          files_dir=tmp_path)
    request = OfflineRequest()
    bot = Bot(TOKEN, request=request)
    await bot.initialize()
    discord_texts: list[str] = []
    for reply in replies:
        console.render(reply)
        await send_reply(bot, 4242, reply)
        discord_texts += chunks_for(reply)
        view = view_for(reply)
        if view is not None:
            discord_texts += [str(getattr(item, "label", "")) for item in view.children]
    await bot.shutdown()
    telegram_texts = [str(p.get("text", "")) for _, p in request.calls]
    telegram_texts += [b["text"] for p in request.sent() if p.get("reply_markup")
                       for row in p["reply_markup"]["inline_keyboard"] for b in row]
    rendered = {"console": console_lines, "telegram": telegram_texts, "discord": discord_texts,
                "replies": [t for r in replies for t in _texts(r)]}
    bad = {name: [p for text in texts for p in problems(text)] for name, texts in rendered.items()}
    assert bad == {name: [] for name in rendered}, bad
    assert all(len(texts) > 40 for texts in rendered.values())


@pytest.mark.parametrize("name", [LONG_NAME])
def test_token_names_are_shortened_with_an_ellipsis(sqlite_db: Database, name: str) -> None:
    ledger.tokenize(sqlite_db.uow(), agent_id=None, symbol="STRAT-LONGNAME-USDC-001", total_supply="1000000",
                    status="active", name=name, idempotency_key="tok-long")
    layer = CommandLayer(sqlite_db, make_settings())
    chat = ConsoleChat(layer, "reader", write=lambda line: None)
    reply = chat.handle("/tokens")
    assert reply is not None
    line = next(line for line in reply.text.splitlines() if line.startswith("STRAT-LONGNAME"))
    assert line.endswith("…") and "past what" not in line and " keeps" in line  # cut at a word
