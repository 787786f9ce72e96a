"""The replay's verdict and all-cash explanation on hand-made figures."""

from __future__ import annotations

import pandas as pd

from scheduler.replay_report import cash_periods, render_verdict, verdict


def test_verdict_rows_say_met_missed_or_not_measurable() -> None:
    rows = {r["metric"]: r for r in verdict({
        "share_beating_hold": 0.85, "average_sharpe": 1.2, "worst_token_drawdown": 0.15,
        "ai_minus_equal_weight": None, "drift_p95": 0.01,
    })}  # fmt: skip
    assert rows["share_beating_hold"]["status"] == "met"
    assert rows["average_sharpe"]["status"] == "missed"
    assert rows["worst_token_drawdown"]["status"] == "missed"  # 15 % is not below 15 %
    assert rows["ai_minus_equal_weight"]["status"] == "not measurable"
    assert rows["drift_p95"]["status"] == "met"
    text = "\n".join(render_verdict({"verdict": list(rows.values()), "cash_periods": [], "skipped": []}))
    assert "missed          average token Sharpe (excess of the risk-free rate): 1.20 (target > 1.50)" in text
    assert "met             tokens beating buy-and-hold of their asset: 85.0% (target >= 80.0%)" in text


def test_all_cash_periods_are_found_and_explained() -> None:
    days = [d.date().isoformat() for d in pd.date_range("2024-01-01", periods=30)]
    live = [0] * 10 + [2] * 10 + [2] * 10
    cash = [1.0] * 10 + [1.0] * 8 + [0.4] * 12
    daily = pd.DataFrame({"live_tokens": live, "ai_cash_share": cash}, index=days)
    periods = cash_periods(daily)
    assert [(p["from"], p["to"], p["days"]) for p in periods] == [("2024-01-01", "2024-01-18", 18)]
    assert "no strategy token was live" not in periods[0]["why"]  # tokens existed for part of it
    only_no_tokens = cash_periods(daily.assign(ai_cash_share=[1.0] * 10 + [0.5] * 20))
    assert only_no_tokens[0]["days"] == 10 and "no strategy token was live" in only_no_tokens[0]["why"]
