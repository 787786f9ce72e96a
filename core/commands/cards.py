"""Readable cards for results that other areas compute (backtests), built from plain dicts.

Backtest metrics arrive as the engine stores them (``backtest.metrics``): fractions for returns and
drawdowns (``max_drawdown`` a positive fraction below the peak), plain numbers for ratios, floats.
Every number goes through :mod:`core.formatting`; the Sharpe ratio's convention is printed beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import formatting

#: What a stored metric key is called wherever a person reads it (chat cards, the dashboard).
METRIC_LABELS = {
    "days": "Days", "total_return": "Total return", "cagr": "Annual return (CAGR)",
    "hodl_return": "Buy and hold, same days", "excess_return": "Return above the risk-free rate",
    "volatility": "Volatility (a year)", "sharpe": "Sharpe ratio (excess)", "sortino": "Sortino ratio",
    "calmar": "Calmar ratio", "max_drawdown": "Largest drawdown", "exposure": "Time invested",
    "psr": "Probability the Sharpe ratio is real (PSR)", "dsr": "Deflated Sharpe ratio (DSR)",
    "n_trades": "Trades", "passed_gate": "Passed the gate", "nav": "NAV per token",
    "risk_free_rate": "Risk-free rate",
}


def metric_label(key: str) -> str:
    """``cagr`` -> ``Annual return (CAGR)``; an unknown key reads as words (``win_rate`` -> ``Win rate``)."""
    return METRIC_LABELS.get(key) or key.replace("_", " ").strip().capitalize()


def _number(metrics: Mapping[str, Any], key: str) -> float | int | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def backtest_card(title: str, metrics: Mapping[str, Any], verdict: str = "") -> str:
    """``title`` then one line per known metric (unknown keys are left out, never dumped raw)."""
    lines = [title]
    days = _number(metrics, "days")
    if days is not None:
        lines.append(f"Period: {formatting.count(int(days))} days")
    for key, label in (("total_return", "Total return"), ("cagr", "Annual return (CAGR)"),
                       ("hodl_return", "Buy and hold, same days")):
        value = _number(metrics, key)
        if value is not None:
            lines.append(f"{label}: {formatting.change(value)}")
    volatility = _number(metrics, "volatility")
    if volatility is not None:
        lines.append(f"Volatility: {formatting.percent(volatility)} a year")
    sharpe = _number(metrics, "sharpe")
    if sharpe is not None:
        rate = _number(metrics, "risk_free_rate")
        over = f"over a {formatting.percent(rate)} risk-free rate" if rate is not None else "excess return"
        lines.append(f"Sharpe ratio: {formatting.ratio(sharpe)} (daily returns, {over}, x sqrt(365))")
    drawdown = _number(metrics, "max_drawdown")
    if drawdown is not None:
        lines.append(f"Largest drawdown: {formatting.drawdown(drawdown)}")
    psr, dsr = _number(metrics, "psr"), _number(metrics, "dsr")
    if psr is not None or dsr is not None:
        parts = [f"{name} {formatting.ratio(v)}" for name, v in (("PSR", psr), ("DSR", dsr)) if v is not None]
        lines.append("Probability the Sharpe ratio is real: " + ", ".join(parts))
    trades = _number(metrics, "n_trades")
    if trades is not None:
        lines.append(f"Trades: {formatting.count(int(trades))}")
    if verdict:
        lines.append(verdict)
    return "\n".join(lines)


__all__ = ["METRIC_LABELS", "backtest_card", "metric_label"]
