"""Metrics and chart for ``arena replay``.

Daily series are time-weighted returns (deposits neutralised), annualised over 365 days; Sharpe uses
a zero risk-free rate; drawdown is the largest peak-to-trough fall of the compounded series.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def series_stats(returns: pd.Series) -> dict[str, float | None]:
    r = returns.dropna().astype("float64")
    if r.empty:
        return {"annual_return": None, "volatility": None, "sharpe": None, "max_drawdown": None,
                "total_return": None, "days": 0}
    growth = float((1 + r).prod())
    years = len(r) / 365.0
    annual = growth ** (1 / years) - 1 if growth > 0 else -1.0
    vol = float(r.std(ddof=1) * math.sqrt(365)) if len(r) > 1 else 0.0
    sharpe = float(r.mean() / r.std(ddof=1) * math.sqrt(365)) if len(r) > 1 and r.std() > 0 \
        else None
    curve = (1 + r).cumprod()
    max_dd = float((1 - curve / curve.cummax()).max())
    return {"annual_return": _r(annual), "volatility": _r(vol),
            "sharpe": None if sharpe is None else _r(sharpe), "max_drawdown": _r(max_dd),
            "total_return": _r(growth - 1), "days": len(r)}


def percentile(values: list[float], q: float) -> float | None:
    return _r(float(np.percentile(values, q))) if values else None


def plot(path: Path, ai: pd.Series, ew: pd.Series, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5))
    if not ai.empty:
        ax.plot((1 + ai.fillna(0)).cumprod().index, (1 + ai.fillna(0)).cumprod().to_numpy(),
                label="AI wallets (full AI, net of costs)")
    if not ew.empty:
        ax.plot((1 + ew.fillna(0)).cumprod().index, (1 + ew.fillna(0)).cumprod().to_numpy(),
                label="equal weight, same eligible tokens (net of costs)")
    ax.set_ylabel("growth of 1 USD (time-weighted)")
    cmp_ = summary.get("comparison", {})
    ax.set_title(f"arena replay {summary.get('from')} to {summary.get('to')}: AI "
                 f"{_pct(cmp_.get('ai', {}).get('annual_return'))}/yr vs EW "
                 f"{_pct(cmp_.get('equal_weight', {}).get('annual_return'))}/yr")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(value: object) -> str:
    return f"{value:+.1%}" if isinstance(value, float) else "n/a"


def _r(value: float) -> float:
    return round(value, 6) if math.isfinite(value) else 0.0
