"""The replay states how many strategies passed the honest gate with and without the risk tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backtest.plan import risk_tools
from core.spec import load_spec
from scheduler.replay_summary import risk_tools_summary

PLAIN = {
    "name": "plain",
    "family": "ma_crossover",
    "universe": {"assets": ["BTC"]},
    "entry_rule": "close > 0",
}


@dataclass
class Fake:
    name: str
    spec: Any
    symbol: str | None = None


def test_risk_tools_are_named() -> None:
    assert risk_tools(load_spec(PLAIN)) == []
    full = load_spec({**PLAIN, "sizing": {"method": "volatility_target", "target_vol": 0.1},
                      "risk": {"max_drawdown_stop": 0.1, "reentry": {"rule": "signal"}},
                      "idle_cash_market": "tbill:USD"})  # fmt: skip
    assert risk_tools(full) == ["volatility_target", "drawdown_stop", "tbill_leg"]


def test_summary_counts_tokens_per_group() -> None:
    tbill = load_spec({**PLAIN, "name": "cash leg", "idle_cash_market": "tbill:USD"})
    strategies = [Fake("a", load_spec(PLAIN), "STRAT-A"), Fake("b", load_spec(PLAIN)), Fake("c", tbill)]
    summary = risk_tools_summary(strategies, [{"strategy": "x", "reason": "not backtestable"}])
    assert summary == {
        "without": {"strategies": 2, "tokenized": 1, "passed": ["a"]},
        "with": {"strategies": 1, "tokenized": 0, "passed": []},
        "skipped": 1,
    }
