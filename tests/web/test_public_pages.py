"""Public pages without sign-in: the token table with performance, a token page with its chart,
stored gate report, T-bill line and agent code, and the methodology with the configured numbers.
Candidate tokens are not public."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.web.dashboard.standalone import create_dashboard_app
from core.audit.liabilities import publish
from core.db import Database
from core.formatting import cash, count, date_text
from core.models import StrategyToken, TokenStatus, TreasuryAgent
from core.notify import CollectingNotifier
from tests.e2e.chat_support import make_settings, make_token
from tests.support.hybrid import SYMBOLS, tokens_with_history

CODE = "class TreasuryAgent(bt.Strategy):\n    params = dict(fast=50, slow=200)\n"
REPORT: dict[str, Any] = {
    "passed": True, "trials_text": 9, "trials_total": 40, "best_variant": "sma 50/200", "proof": "forward",
    "risk_free": {"name": "3-month US T-bill (FRED DTB3)", "mean_annual_rate": 0.042},
    "checks": [{"name": "sharpe", "label": "excess Sharpe", "value": 1.87, "threshold": 1.5,
                "comparison": ">", "passed": True},
               {"name": "max_drawdown", "label": "max drawdown", "value": 0.091, "threshold": 0.15,
                "comparison": "<", "passed": True}],
}


@pytest.fixture
def client(sqlite_db: Database) -> TestClient:
    tokens_with_history(sqlite_db)
    with sqlite_db.uow() as uow:
        agent = TreasuryAgent(name="BTC golden cross", family="ma_crossover", spec_version="1.0", spec={},
                              spec_sha256="5" * 64, code=CODE, code_sha256="c0de" * 16, gate_report=REPORT,
                              backtest_metrics={"sharpe": 1.87, "max_drawdown": 0.091, "days": 730,
                                                "cagr": 0.12, "n_trades": 14},
                              created_at=uow.clock.now())
        uow.session.add(agent)
        uow.session.flush()
        token = uow.session.scalar(select(StrategyToken).where(StrategyToken.symbol == SYMBOLS[0]))
        assert token is not None
        token.agent_id = agent.id
        uow.commit()
    make_token(sqlite_db, "STRAT-HIDDEN-001")
    with sqlite_db.uow() as uow:  # a candidate row (the pipeline's state before tokenization)
        hidden = uow.session.scalar(select(StrategyToken).where(StrategyToken.symbol == "STRAT-HIDDEN-001"))
        assert hidden is not None
        hidden.status = TokenStatus.CANDIDATE
        uow.commit()
    app = create_dashboard_app(sqlite_db, make_settings(), notifier=CollectingNotifier())
    return TestClient(app, follow_redirects=False)


def test_token_table_is_public(client: TestClient) -> None:
    page = client.get("/performance")
    assert page.status_code == 200 and "Sign out" not in page.text
    assert all(f'href="/performance/{s}"' in page.text for s in SYMBOLS)
    assert "STRAT-HIDDEN-001" not in page.text
    assert client.get("/performance/STRAT-HIDDEN-001").status_code == 404
    assert client.get("/").headers["location"] == "/performance"


def test_token_page_shows_gate_report_tbill_and_code(client: TestClient) -> None:
    page = client.get(f"/performance/{SYMBOLS[0]}").text
    assert f'src="/performance/{SYMBOLS[0]}/chart.png"' in page
    assert "Birth gate: passed (risk-free rate: 3-month US T-bill (FRED DTB3), mean 4.20% a year)" in page
    assert "[pass] excess Sharpe 1.87 (needs &gt; 1.50)" in page
    assert "[pass] max drawdown 9.1% (needs &lt; 15.0%)" in page
    assert "4.20% a year, accrued per calendar day" in page
    assert "c0de" * 16 in page and "class TreasuryAgent(bt.Strategy):" in page
    assert "<th>Sharpe ratio (excess)</th><td class=\"num\">1.87</td>" in page
    # metrics are named as the chat's backtest card names them; a drawdown reads non-positive
    assert "<th>Largest drawdown</th><td class=\"num\">-9.10%</td>" in page and "730" in page
    assert "<th>Annual return (CAGR)</th><td class=\"num\">12.00%</td>" in page
    assert "<th>Trades</th><td class=\"num\">14</td>" in page and "n trades" not in page
    other = client.get(f"/performance/{SYMBOLS[1]}").text
    assert "Birth gate: no gate report recorded for this token." in other and "T-bill line" not in other


def test_methodology_states_the_configured_numbers(client: TestClient) -> None:
    page = client.get("/methodology").text
    for words in ("at least 180 days", "above 1.50", "below 15.00%", "1.00% a year", "10.00% of gains",
                  "5.00% of every fee", "exceeds 20.00%", "y = 365·d / (360 − 91·d)", "first 70%"):
        assert words in page, words


def test_a_token_without_marks_says_so(sqlite_db: Database) -> None:
    make_token(sqlite_db, "STRAT-NEW-001")
    client = TestClient(create_dashboard_app(sqlite_db, make_settings(), notifier=CollectingNotifier()))
    page = client.get("/performance")
    assert "STRAT-NEW-001" in page.text and page.status_code == 200
    chart = client.get("/performance/STRAT-NEW-001/chart.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def test_the_token_table_shows_the_latest_proof(client: TestClient, sqlite_db: Database) -> None:
    """Before the first publication the page says so; after it, the page shows the published root,
    day and totals (the root the public endpoint serves)."""
    assert "No proof of liabilities has been published yet" in client.get("/performance").text
    root = publish(sqlite_db)
    page = client.get("/performance").text
    assert root.root in page and "/api/proof/latest" in page
    assert f"Published for {date_text(root.as_of)}" in page
    assert f"{count(root.wallet_count)} organisation wallets, {cash(Decimal(root.totals['USD']))}" in page
