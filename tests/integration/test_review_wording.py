"""What a new treasurer reads, one wording for one thing in chat and on the command line (the review
of the integrated product): the wallet mode is ``full-ai`` wherever a person reads or types it, dates
are ISO, counts carry their noun in the right number, plans are named as /plan names them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from core import formatting
from core.db import Database
from core.models import AIWallet, WalletMode
from tests.e2e.chat_support import ChatWorld, make_token


def test_counted_and_mode_name() -> None:
    assert formatting.counted(1, "wallet") == "1 wallet"
    assert formatting.counted(0, "wallet") == "0 wallets"
    assert formatting.counted(1200, "trade") == "1,200 trades"
    assert formatting.counted(2, "child", "children") == "2 children"
    assert formatting.mode_name(WalletMode.FULL_AI) == "full-ai"
    assert formatting.mode_name("full_ai") == "full-ai"
    assert formatting.mode_name(WalletMode.HYBRID) == "hybrid"


def test_plan_revenue_line_says_wallet_and_wallets() -> None:
    from bot.cli import plan_revenue_text

    plans = {"Free": {"wallets": 1, "charged": 0, "charges": 0},
             "Basic": {"wallets": 2, "charged": "280.645", "charges": 4}}
    assert plan_revenue_text(plans) == "Plan revenue: Free $0.00 (1 wallet)   Basic $280.65 (2 wallets)"


def _world(db: Database) -> ChatWorld:
    make_token(db, "STRAT-REVIEW-001", supply="100000000")
    world = ChatWorld(db)
    world.verify(world.onboard(100))
    world.confirm(100, world.say(100, "/deposit 10,000"))
    world.confirm(100, world.say(100, "/plan basic"))
    return world


def _mode(db: Database) -> WalletMode:
    with db.uow(read_only=True) as uow:
        return uow.session.scalars(select(AIWallet.mode).where(AIWallet.is_house.is_(False))).one()


def test_mode_is_typed_as_it_is_shown(sqlite_db: Database) -> None:
    world = _world(sqlite_db)
    reply = world.say(100, "/mode full-ai")
    assert reply.text.startswith("Mode is now full-ai."), reply.text
    assert _mode(sqlite_db) is WalletMode.FULL_AI
    world.say(100, "/mode hybrid")
    assert world.say(100, "/mode full_ai").text.startswith("Mode is now full-ai.")  # the stored spelling
    assert _mode(sqlite_db) is WalletMode.FULL_AI
    assert world.say(100, "/mode turbo").text == "Usage: /mode full-ai|hybrid|manual"
    assert _mode(sqlite_db) is WalletMode.FULL_AI
    assert "/mode full-ai|hybrid|manual" in world.say(100, "/help").text


def test_plan_dates_are_iso(sqlite_db: Database) -> None:
    world = _world(sqlite_db)  # the chat world's clock is at 1 January 2025
    done = world.confirm(100, world.say(100, "/plan free"))
    assert "changes to Free on 2025-02-01" in done.text, done.text
    applied = world.say(100, "/apply").text
    assert f"applied {formatting.date_text(_clock_day(sqlite_db))}" in applied, applied


def _clock_day(db: Database) -> date:
    with db.uow(read_only=True) as uow:
        now: datetime = uow.clock.now()
    return now.astimezone(UTC).date()


def test_arena_plan_show_names_mode_and_plan_as_chat_does(sqlite_db: Database) -> None:
    from bot import cli

    world = _world(sqlite_db)
    world.say(100, "/mode full-ai")
    world.confirm(100, world.say(100, "/plan free"))
    cli._register_subcommands()
    shown = CliRunner().invoke(cli.app, ["--db", sqlite_db.url, "plan", "show"])
    assert shown.exit_code == 0, shown.output
    assert "full-ai" in shown.output and "full_ai" not in shown.output, shown.output
    assert "becomes Free on 2025-02-01" in shown.output, shown.output


def test_cli_user_names_a_console_user_like_arena_chat() -> None:
    """``--user`` of ``arena apikey`` and ``arena dashboard-link`` is one parser: numeric ids for the
    bots, a console user by the name ``arena chat --user`` takes; anything else one line."""
    import pytest

    from core.access import parse_user_ref
    from core.compliance.identity import console_user_id
    from core.errors import ValidationError

    assert parse_user_ref("telegram:12345") == ("telegram", 12345)
    assert parse_user_ref(" Console:Alice ") == ("console", console_user_id("alice"))
    assert parse_user_ref("console:42") == ("console", 42)
    with pytest.raises(ValidationError, match=r"^--user telegram:ID needs the numeric telegram user id"):
        parse_user_ref("telegram:alice")
    with pytest.raises(ValidationError, match="PLATFORM one of telegram, discord, console"):
        parse_user_ref("slack:1")
    with pytest.raises(ValidationError):
        parse_user_ref("console:")


def test_apikey_for_a_console_user_by_name(sqlite_db: Database) -> None:
    from bot import cli
    from bot.console_chat import console_user_id
    from core.compliance.identity import get_or_create_user

    with sqlite_db.uow() as uow:
        get_or_create_user(uow.session, "console", console_user_id("alice"), "alice", sqlite_db.clock)
        uow.commit()
    cli._register_subcommands()
    runner = CliRunner()
    made = runner.invoke(cli.app, ["--db", sqlite_db.url, "apikey", "create", "--user", "console:alice"])
    assert made.exit_code == 0, made.output
    assert "ta_" in made.output
    listed = runner.invoke(cli.app, ["--db", sqlite_db.url, "apikey", "list", "--user", "console:alice"])
    assert listed.exit_code == 0 and "#1" in listed.output, listed.output


def test_wallet_in_chat_and_api_status_are_one_valuation(sqlite_db: Database) -> None:
    """/wallet and GET /api/wallet/{id}/status read one function: a fresh token at NAV $1.00, $1,000
    bought from $10,000 (less the Basic plan's $50.00): 1,000 tokens, $8,950.00 cash, total $9,950.00."""
    from decimal import Decimal

    from core.commands.api_views import wallet_status

    world = _world(sqlite_db)
    world.confirm(100, world.say(100, "/buy STRAT-REVIEW-001 1,000"))
    text = world.say(100, "/wallet").text
    assert "STRAT-REVIEW-001: 1,000 tokens at NAV $1.0000 = $1,000.00" in text, text
    assert "Cash: $8,950.00" in text and "Total: $9,950.00" in text, text
    with sqlite_db.uow(read_only=True) as uow:
        wallet = uow.session.scalars(select(AIWallet).where(AIWallet.is_house.is_(False))).one()
        status = wallet_status(uow.session, wallet)
    assert Decimal(status["total_value"]) == Decimal("9950")
    assert [(h["symbol"], Decimal(h["value"])) for h in status["holdings"]] == [("STRAT-REVIEW-001",
                                                                                Decimal("1000"))]


def test_approval_and_rebalance_texts_count_trades_in_words() -> None:
    from decimal import Decimal

    from core.commands.handlers.platform_services import rebalanced_text
    from core.wallets.proposal_text import executed_text

    one = [{"side": "buy", "symbol": "STRAT-A-001", "quantity": "10", "cash": "10.5"}]
    two = [*one, {"side": "redeem", "symbol": "STRAT-B-001", "quantity": "3", "cash": "3"}]
    assert executed_text(7, one, Decimal("0.01")).startswith("Approved proposal #7: 1 trade executed.\n"
                                                            "- bought 10 STRAT-A-001 for $10.50")
    assert executed_text(7, two, Decimal("0.02")).startswith("Approved proposal #7: 2 trades executed.")
    assert rebalanced_text(two, Decimal("0.02")).startswith("Rebalanced: 2 trades executed.")


def test_import_report_names_gate_checks_as_people_read_them() -> None:
    from parser.report import _group_lines, _text_table

    check = {"name": "excess_sharpe", "label": "excess Sharpe", "applicable": True, "passed": False,
             "detail": "excess Sharpe 0.99 (needs > 1.50)"}
    group = {"trials": 1, "best_variant": "lookback 14", "sharpe": 0.99, "max_drawdown": 0.7892,
             "volatility": 0.739, "passed": False, "checks": [check]}
    line = _group_lines({"groups": {"as_written": group}})[0]
    assert line.startswith("  as written: 1 variant, best lookback 14 — excess Sharpe 0.99, max drawdown "
                           "-78.92%"), line
    assert line.endswith("fails the gate: excess Sharpe FAIL"), line
    table = _text_table({"candidate": 1, "title": "Momentum", "family": "momentum", "trials_text": 10,
                         "variants": 10, "best_variant": "x", "window": ["2020-01-01", "2021-01-01"],
                         "state": "failed_gate", "checks": [check]})
    assert table.title is not None and "10 variants run (of 10)" in str(table.title)
    assert list(table.columns[0].cells) == ["excess Sharpe"]


def test_dashboard_wallet_tile_names_mode_and_plan_as_chat_does() -> None:
    from bot.web.dashboard.render import make_environment
    from core.models import Tier

    env = make_environment()
    tile = env.from_string("{{ m|mode_name }}, {{ t|plan_name }} plan; {{ e|plan_name }}")
    assert tile.render(m="full_ai", t="basic", e=Tier.PREMIUM) == "full-ai, Basic plan; Premium"
