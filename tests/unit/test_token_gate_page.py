"""``/token SYMBOL`` shows the stored gate report: each check with its number, the trial counts, the
risk-free rate used and how the token was proved."""

from __future__ import annotations

from typing import Any

from backtest.gate import WalkForward, evaluate_gate
from backtest.metrics import probability_of_backtest_overfitting
from core import ledger
from core.config import Settings
from core.db import Database
from core.models import TreasuryAgent
from tests.e2e.chat_support import ChatWorld

SYM = "STRAT-MEANREVERSION-ETH-007"
RISK_FREE = {"name": "3-month US T-bill (FRED DTB3)", "mean_annual_rate": 0.042, "convention": "y/365"}


def _report(proof: str) -> dict[str, Any]:
    import numpy as np

    walk = WalkForward(
        ("2021-01-02", "2023-06-30"), ("2023-07-01", "2024-06-30"), 2, "bb 20->30", 1.9, 0.4, 9
    )
    pbo = probability_of_backtest_overfitting(np.random.default_rng(1).normal(0, 0.01, (400, 9)), 16)
    report = evaluate_gate(
        {"days": 1277, "sharpe": 1.2, "max_drawdown": 0.31, "dsr": 0.4}, Settings(), trials_text=9,
        trials_total=40, walk=walk, pbo=pbo, risk_free=RISK_FREE,
    )  # fmt: skip
    report.extra["best_variant"] = "bb 20->30"
    return {**report.to_json(), "proof": proof}


def _token_with_report(db: Database, report: dict[str, Any]) -> None:
    with db.uow() as uow:
        agent = TreasuryAgent(
            name="ETH/BTC ratio mean reversion", family="mean_reversion", spec_version="1.0", spec={},
            spec_sha256="s" * 64, code="", code_sha256="c" * 64, gate_report=report,
            created_at=uow.clock.now(),
        )  # fmt: skip
        uow.session.add(agent)
        uow.session.flush()
        agent_id = agent.id
        uow.commit()
    ledger.tokenize(db.uow(), agent_id=agent_id, symbol=SYM, total_supply="1000000", status="active",
                    idempotency_key="tok-gate")  # fmt: skip


def test_token_page_shows_each_check_with_its_number(sqlite_db: Database) -> None:
    _token_with_report(sqlite_db, _report("replay"))
    world = ChatWorld(sqlite_db)
    world.onboard(100)
    text = world.say(100, f"/token {SYM}").text
    assert "Birth gate: failed (risk-free rate: 3-month US T-bill (FRED DTB3), mean 4.20% a year)" in text
    assert "Trials: 9 variants of this strategy, 40 overall; chosen: bb 20->30" in text
    assert "[pass] history 1,277 days (needs >= 180)" in text
    assert "[FAIL] excess Sharpe 1.20 (needs > 1.50)" in text
    assert "[FAIL] max drawdown 31.0% (needs < 15.0%)" in text
    assert "[FAIL] deflated Sharpe 0.40 (needs >= 0.95)" in text
    assert "[pass] walk-forward 0.40 (needs > 0.00)" in text
    assert "overfitting (PBO)" in text and "(needs < 50.0%)" in text
    assert "Proof: proved on replayed history (30 held-out days), not forward" in text


def test_token_page_says_forward_proof_and_missing_reports(sqlite_db: Database) -> None:
    _token_with_report(sqlite_db, _report("forward"))
    ledger.tokenize(sqlite_db.uow(), agent_id=None, symbol="STRAT-OLD-X-001", total_supply="1000",
                    status="active", idempotency_key="tok-old")  # fmt: skip
    world = ChatWorld(sqlite_db)
    world.onboard(100)
    assert "Proof: proved forward, on market data as it arrived" in world.say(100, f"/token {SYM}").text
    assert "no gate report" not in world.say(100, "/token STRAT-OLD-X-001").text  # no agent: no section
