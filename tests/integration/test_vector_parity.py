"""The vector engine and the Backtrader agent agree: equity to 1e-9 relative on every day and
identical trade lists, for every example spec and 64 generated specs (all eight families) on the
real shared data, and for Hypothesis-generated specs on the synthetic market."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest import BacktestResult, load_market, run_backtest
from backtest.data import MarketData
from backtest.examples import example_specs
from core.errors import ArenaError
from core.spec import load_spec
from tests.support.specgen import FAMILIES, seeded_specs, spec_for

GENERATED = seeded_specs(64, seed=20260101)
DEEP = os.environ.get("ARENA_DEEP_TESTS") == "1"


def assert_parity(a: BacktestResult, b: BacktestResult) -> None:
    assert a.backtestable and b.backtestable
    assert list(a.equity.index) == list(b.equity.index)
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-9, atol=0)
    assert len(a.trades) == len(b.trades)
    for x, y in zip(a.trades, b.trades, strict=True):
        assert (x["date"], x["asset"], x["side"]) == (y["date"], y["asset"], y["side"])
        for key in ("size", "price", "value", "commission"):
            assert y[key] == pytest.approx(x[key], rel=1e-9, abs=1e-12)
    assert a.rejected_orders == b.rejected_orders
    np.testing.assert_allclose(b.invested_values(), a.invested_values(), rtol=1e-9, atol=1e-6)


def both(spec: Any, market: MarketData, start: str | None = None, end: str | None = None) -> tuple[Any, Any]:
    return (
        run_backtest(spec, market, start, end, engine="backtrader"),
        run_backtest(spec, market, start, end, engine="vector"),
    )


@pytest.fixture(scope="module")
def real(shared_data_dir: Path) -> MarketData:
    return load_market(shared_data_dir)


def test_the_generated_sample_covers_every_family() -> None:
    assert {s["family"] for s in GENERATED} == set(FAMILIES) and len(GENERATED) >= 50
    for spec in GENERATED:
        load_spec(spec)  # every generated spec is valid


@pytest.mark.parametrize("name", [s.name for s in example_specs(backtestable_only=True)])
def test_examples_on_real_data(real: MarketData, name: str) -> None:
    spec = next(s for s in example_specs() if s.name == name)
    assert_parity(*both(spec, real))


@pytest.mark.parametrize("index", range(len(GENERATED)), ids=lambda i: f"{i}-{GENERATED[i]['family']}")
def test_generated_specs_on_real_data(real: MarketData, index: int) -> None:
    spec = GENERATED[index]
    a, b = both(spec, real, "2021-01-01", "2023-12-31")
    assert_parity(a, b)


@settings(max_examples=200 if DEEP else 12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hypothesis_specs_on_synthetic_data(data: st.DataObject) -> None:
    spec = spec_for(lambda options: data.draw(st.sampled_from(list(options))), 0)
    start = data.draw(st.sampled_from(["2020-01-01", "2021-03-01", "2022-06-01"]))
    market = load_market(None)
    try:
        a = run_backtest(spec, market, start, "2023-06-30", engine="backtrader")
    except ArenaError as exc:  # the window or data cannot hold this spec: both engines must say so
        with pytest.raises(type(exc)):
            run_backtest(spec, market, start, "2023-06-30", engine="vector")
        return
    assert_parity(a, run_backtest(spec, market, start, "2023-06-30", engine="vector"))


# ---- issue 15: volatility targeting, the drawdown stop and the T-bill leg ------------------------

RISK_FAMILIES = ("ma_crossover", "mean_reversion", "breakout", "pair_ratio", "momentum", "index")


def with_risk(spec: dict[str, Any], k: int) -> dict[str, Any]:
    """``spec`` with the risk tools switched on in a pattern that cycles through every option."""
    out = {**spec, "name": f"{spec['name']} (risk {k})", "idle_cash_market": "tbill:USD"}
    if out["family"] != "index":
        out["sizing"] = {
            "method": "volatility_target",
            "target_vol": (0.1, 0.2, 0.4)[k % 3],
            "lookback_days": (10, 30, 60)[k % 3],
            "max_leverage": (1.0, 0.5)[k % 2],
            "rebalance_band": (0.0, 0.2, 0.05, 0.0)[k % 4],
        }
    reentry = {"rule": "cooldown", "days": (5, 20)[k % 2]} if k % 4 < 2 or out["family"] == "index" else {
        "rule": "signal"}  # fmt: skip
    out["risk"] = {**spec.get("risk", {}), "max_drawdown_stop": (0.05, 0.1, 0.2)[k % 3], "reentry": reentry}
    return out


RISKY = [with_risk(s, k) for k, s in enumerate(s for s in GENERATED if s["family"] in RISK_FAMILIES)][:24]


def test_the_risk_sample_covers_every_new_field() -> None:
    specs = [load_spec(s) for s in RISKY]
    assert {s.family.value for s in specs} == set(RISK_FAMILIES)
    assert {s.sizing.method.value for s in specs} >= {"volatility_target"}
    assert {s.risk.reentry.rule.value for s in specs if s.risk.reentry} == {"cooldown", "signal"}
    assert {s.sizing.max_leverage for s in specs} == {1.0, 0.5}
    assert {s.sizing.rebalance_band for s in specs} == {0.0, 0.2, 0.05}


@pytest.mark.parametrize("index", range(len(RISKY)), ids=lambda i: f"{i}-{RISKY[i]['family']}")
def test_risk_managed_specs_on_real_data(real: MarketData, index: int) -> None:
    a, b = both(RISKY[index], real, "2020-01-01", "2023-12-31")
    assert_parity(a, b)
    assert "tbill:USD" not in " ".join(a.notes)  # the T-bill series covers the window: no gap notes


@settings(max_examples=60 if DEEP else 8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hypothesis_risk_managed_specs_on_synthetic_data(data: st.DataObject) -> None:
    """Generated specs of the risk families with the tools switched on (the synthetic market has no
    T-bill series: the leg earns nothing there, in both engines alike)."""
    spec = spec_for(lambda options: data.draw(st.sampled_from(list(options))), 0)
    if spec["family"] not in RISK_FAMILIES:
        return
    risky = with_risk(spec, data.draw(st.integers(0, 11)))
    market = load_market(None)
    try:
        a = run_backtest(risky, market, "2021-03-01", "2023-06-30", engine="backtrader")
    except ArenaError as exc:
        with pytest.raises(type(exc)):
            run_backtest(risky, market, "2021-03-01", "2023-06-30", engine="vector")
        return
    assert_parity(a, run_backtest(risky, market, "2021-03-01", "2023-06-30", engine="vector"))
