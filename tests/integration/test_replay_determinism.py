"""``arena replay`` on real data: deterministic, writes the daily CSV beside the chart, lists what it
skipped and why, winds down tokens whose data stopped, and judges itself against the brief."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ValidationError
from scheduler.replay import run_replay

VERDICT = [
    "share_beating_hold",
    "average_sharpe",
    "worst_token_drawdown",
    "ai_minus_equal_weight",
    "drift_p95",
]


@pytest.mark.shared_data
@pytest.mark.slow
def test_replay_is_deterministic(shared_data_dir: Path, tmp_path: Path) -> None:
    kwargs = {"wallets": 1, "seed": 3, "gate": "none"}
    first = run_replay(shared_data_dir, date(2021, 9, 1), date(2021, 11, 15),
                       plot_path=tmp_path / "a.png", **kwargs)  # type: ignore[arg-type]  # fmt: skip
    second = run_replay(shared_data_dir, date(2021, 9, 1), date(2021, 11, 15), **kwargs)  # type: ignore[arg-type]
    assert {k: v for k, v in first.items() if k != "daily_csv"} == second
    assert (tmp_path / "a.png").stat().st_size > 1000
    daily = pd.read_csv(tmp_path / "a.csv", index_col="date")
    assert len(daily) == 76 and {"ai_return", "equal_weight_return", "live_tokens", "ai_cash_share"} <= set(
        daily
    )
    assert first["tokens"]["count"] > 0 and first["rebalances"] > 0
    assert first["comparison"]["ai"]["days"] > 0
    assert [row["metric"] for row in first["verdict"]] == VERDICT
    assert all(row["status"] in ("met", "missed", "not measurable") for row in first["verdict"])
    assert first["risk_free"]["name"].startswith("3-month US T-bill")
    assert {s["strategy"] for s in first["skipped"]} >= {"Aave USDC folding"}


@pytest.mark.shared_data
@pytest.mark.slow
def test_lending_tokens_are_wound_down_when_their_rates_end(shared_data_dir: Path) -> None:
    report = run_replay(shared_data_dir, date(2022, 2, 1), date(2022, 3, 20), wallets=1, seed=1, gate="none")
    # The USDC rate series end on 2022-03-07: the lending tokens stop being marked and are wound
    # down after the grace days, instead of sitting at a flat NAV.
    assert report["stale_wind_downs"] >= 1
    lending = [t for t in report["tokens"]["detail"] if "LENDING" in t["symbol"] or "YIELD" in t["symbol"]]
    assert lending and all(t["status"] == "retired" for t in lending)


def test_reversed_or_empty_ranges_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="after --to"):
        run_replay(None, date(2022, 1, 2), date(2022, 1, 1))
    with pytest.raises(ValidationError, match="no day between"):
        run_replay(None, date(2040, 1, 1), date(2040, 2, 1))
