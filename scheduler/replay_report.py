"""Figures, verdict, CSV and chart of ``arena replay``.

* Daily series are time-weighted returns (deposits neutralised). Their statistics come from the one
  metrics implementation (:func:`backtest.metrics.compute_metrics`): annualised over 365 days, Sharpe
  of returns in excess of the market's risk-free rate (the 3-month T-bill on real data, 0 % on the
  synthetic market; the report names it), drawdown of the compounded series. A series whose own
  returns do not vary (all cash, earning nothing) took no risk: its Sharpe is reported as None
  rather than a ratio of the T-bill's wiggles.
* The verdict compares the run with the product brief's success metrics (:data:`TARGETS`): each
  row is ``met``, ``missed`` or ``not measurable`` (e.g. no token lived), with the measured figure.
* All-cash periods (no live token, or the AI wallets holding only cash) are found and explained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.data.riskfree import RiskFree
from backtest.metrics import NOISE_FLOOR, compute_metrics
from core.formatting import change, count, date_text, percent, ratio

#: The brief's success metrics: (key, label, target, how the measured figure is compared).
TARGETS: tuple[tuple[str, str, float, str], ...] = (
    ("share_beating_hold", "tokens beating buy-and-hold of their asset", 0.80, ">="),
    ("average_sharpe", "average token Sharpe (excess of the risk-free rate)", 1.5, ">"),
    ("worst_token_drawdown", "every token's max drawdown", 0.15, "<"),
    ("ai_minus_equal_weight", "AI wallets beat equal weight by (per year)", 0.05, ">="),
    ("drift_p95", "drift before a rebalance (95th percentile)", 0.02, "<"),
)
CASH_SHARE = 0.999  # AI wallets at least this share in cash count as all-cash


def series_stats(returns: pd.Series, risk_free: RiskFree) -> dict[str, Any]:
    """Annual return, volatility, excess Sharpe, max drawdown of daily returns indexed by date."""
    r = returns.dropna().astype("float64")
    empty = {
        "annual_return": None,
        "volatility": None,
        "sharpe": None,
        "max_drawdown": None,
        "total_return": None,
        "days": 0,
    }
    if len(r) < 2:
        return empty
    index = pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in r.index])
    start = index[0] - pd.Timedelta(days=1)
    equity = pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())]), index=index.insert(0, start))
    m = compute_metrics(equity, risk_free=risk_free)
    years = len(r) / 365.0
    growth = float(equity.iloc[-1])
    annual = growth ** (1 / years) - 1 if growth > 0 else -1.0
    return {
        "annual_return": _r(annual),
        "volatility": _r(m.volatility),
        "sharpe": _r(m.sharpe) if float(r.std(ddof=1)) > NOISE_FLOOR else None,
        "max_drawdown": _r(m.max_drawdown),
        "total_return": _r(growth - 1),
        "days": len(r),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    return _r(float(np.percentile(values, q))) if len(values) else None


def verdict(measured: dict[str, float | None]) -> list[dict[str, Any]]:
    """One row per success metric: met / missed / not measurable, with the measured figure."""
    rows = []
    for key, label, target, op in TARGETS:
        value = measured.get(key)
        if value is None:
            status = "not measurable"
        else:
            ok = {">=": value >= target, ">": value > target, "<": value < target}[op]
            status = "met" if ok else "missed"
        rows.append(
            {
                "metric": key,
                "label": label,
                "target": target,
                "comparison": op,
                "measured": value,
                "status": status,
            }
        )
    return rows


def cash_periods(daily: pd.DataFrame, min_days: int = 7) -> list[dict[str, Any]]:
    """Runs of at least ``min_days`` days when no token was live or the AI wallets held only cash."""
    if daily.empty:
        return []
    idle = (daily["live_tokens"] == 0) | (daily["ai_cash_share"] >= CASH_SHARE)
    periods: list[dict[str, Any]] = []
    run_start = None
    for i, (day, flag) in enumerate(idle.items()):
        if flag and run_start is None:
            run_start = i
        last = i == len(idle) - 1
        if run_start is not None and (not flag or last):
            stop = i if flag and last else i - 1
            days = stop - run_start + 1
            if days >= min_days:
                chunk = daily.iloc[run_start : stop + 1]
                no_tokens = bool((chunk["live_tokens"] == 0).all())
                why = (
                    "no strategy token was live: none had passed the gate yet, or all had been retired"
                    if no_tokens
                    else "tokens existed but the AI allocation held cash (still proving, or not eligible)"
                )
                periods.append(
                    {
                        "from": str(daily.index[run_start]),
                        "to": str(daily.index[stop]),
                        "days": days,
                        "why": why,
                    }
                )
            run_start = None
        del day
    return periods


def write_csv(path: Path, daily: pd.DataFrame) -> None:
    """The daily series (full precision) beside the chart, for anyone to recompute the figures."""
    daily.to_csv(path, index_label="date", float_format="%.12g")


def render_verdict(report: dict[str, Any]) -> list[str]:
    """The verdict table and the all-cash explanation as text lines (numbers via core.formatting)."""
    lines = ["verdict against the brief's success metrics:"]
    for row in report["verdict"]:
        lines.append(
            f"  {row['status']:<15} {row['label']}: {_figure(row['metric'], row['measured'])} "
            f"(target {row['comparison']} {_figure(row['metric'], row['target'])})"
        )
    for period in report.get("cash_periods", []):
        lines.append(
            f"  all cash {period['from']} .. {period['to']} ({count(period['days'])} days): {period['why']}"
        )
    for skipped in report.get("skipped", []):
        when = (
            f" ({count(skipped['looks'])} gate looks {skipped['from']}..{skipped['to']})"
            if "looks" in skipped
            else ""
        )
        lines.append(f"  skipped {skipped['strategy']}{when}: {skipped['reason']}")
    for name, failed in report.get("gate_failures", {}).items():
        checks = ", ".join(f"{check} {count(n)}x" for check, n in sorted(failed.items()))
        lines.append(f"  gate failures of {name}: {checks}")
    return lines


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric == "average_sharpe":
        return ratio(value)
    if metric == "ai_minus_equal_weight":
        return change(value)
    return percent(value, 1)


def plot(path: Path, ai: pd.Series, ew: pd.Series, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5))
    if not ai.empty:
        curve = (1 + ai.fillna(0)).cumprod()
        ax.plot(curve.index, curve.to_numpy(), label="AI wallets (full AI, net of costs)")
    if not ew.empty:
        curve = (1 + ew.fillna(0)).cumprod()
        ax.plot(curve.index, curve.to_numpy(), label="equal weight, same eligible tokens (net of costs)")
    ax.set_ylabel("growth of 1 USD (time-weighted)")
    cmp_ = summary.get("comparison", {})
    ax.set_title(
        f"arena replay {date_text(pd.Timestamp(summary['from']))} "
        f"to {date_text(pd.Timestamp(summary['to']))}: "
        f"AI {_pct(cmp_.get('ai', {}).get('annual_return'))}/yr vs equal weight "
        f"{_pct(cmp_.get('equal_weight', {}).get('annual_return'))}/yr"
    )
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(value: object) -> str:
    return change(value) if isinstance(value, float) else "n/a"


def _r(value: float) -> float:
    return round(value, 6) if math.isfinite(value) else 0.0
