"""What a backtest produces, whichever engine ran it, and the one place that turns a run into results.

An engine (the Backtrader agent in :mod:`backtest.engine`, the vector screen in
:mod:`backtest.vector`) only simulates: it returns an :class:`EngineRun` (daily equity, invested
value, fills, rejected orders). :func:`finish` computes the benchmark, the metrics (against the
risk-free rate), the walk-forward split of the run itself and the gate report, and gathers the
notes a reader needs (rates or prices that ended, the exposure cap, days without a risk-free rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtest.gate import GateReport, evaluate_gate, walk_forward
from backtest.inputs import BacktestInputs
from backtest.metrics import METRIC_KEYS, Moments, compute_metrics
from backtest.plan import LENDING_FAMILIES, needed_markets
from core.config import Settings
from core.formatting import count, date_text, percent
from core.spec import Family, StrategySpec, spec_hash

CLI_KEYS = (*METRIC_KEYS, "passed_gate", "gate_reasons")


@dataclass
class EngineRun:
    """One simulation: equity and invested value per recorded day, fills, rejected orders."""

    days: pd.DatetimeIndex
    equity: np.ndarray
    invested: np.ndarray
    fills: list[dict[str, Any]]
    rejected: int


@dataclass
class BacktestResult:
    """Everything one backtest produces (units: see :mod:`backtest.metrics`)."""

    spec_name: str
    spec_hash: str
    backtestable: bool
    metrics: dict[str, Any]
    equity: pd.Series
    daily_returns: pd.Series
    benchmark: pd.Series  # buy-and-hold (or stay-in-first-market) equity, same start value
    trades: list[dict[str, Any]]
    code: str
    code_hash: str
    passed_gate: bool
    gate_reasons: list[str]
    turnover: float = 0.0
    rejected_orders: int = 0
    notes: list[str] = field(default_factory=list)
    engine: str = "backtrader"
    excess_returns: pd.Series | None = None  # daily returns minus the risk-free return
    gate: GateReport | None = None
    risk_free: dict[str, Any] = field(default_factory=dict)
    exposure_cap: float | None = None
    moments: Moments | None = None

    invested: pd.Series | None = None  # value held in positions (and lending markets) per day

    def invested_values(self) -> np.ndarray:
        return np.zeros(0) if self.invested is None else self.invested.to_numpy()

    @property
    def start(self) -> dt.date | None:
        return self.equity.index[0].date() if len(self.equity) else None

    @property
    def end(self) -> dt.date | None:
        return self.equity.index[-1].date() if len(self.equity) else None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: metric keys, gate, risk-free rate, exposure cap, notes."""
        out = {k: self.metrics.get(k) for k in CLI_KEYS}
        out.update(
            engine=self.engine,
            start=self.start.isoformat() if self.start else None,
            end=self.end.isoformat() if self.end else None,
            risk_free=dict(self.risk_free),
            exposure_cap=self.exposure_cap,
            gate=self.gate.to_json() if self.gate else None,
            notes=list(self.notes),
            agent_sha256=self.code_hash or None,
        )
        return out


def not_backtestable(spec: StrategySpec, why: str) -> BacktestResult:
    empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC", name="date"))
    metrics: dict[str, Any] = {k: None for k in METRIC_KEYS}
    metrics.update(passed_gate=False, gate_reasons=[why])
    return BacktestResult(
        spec.name, spec_hash(spec), False, metrics, empty, empty, empty, [], "", "", False, [why], notes=[why]
    )


def finish(
    inputs: BacktestInputs,
    run: EngineRun,
    *,
    engine: str,
    code: str = "",
    code_hash: str = "",
    n_trials: int = 1,
    sharpe_variance: float | None = None,
    settings: Settings,
) -> BacktestResult:
    """Metrics, benchmark, gate report and notes of one engine run."""
    spec = inputs.spec
    equity = pd.Series(run.equity, index=run.days, name="equity")
    equity.index.name = "date"
    invested = pd.Series(run.invested, index=run.days)
    benchmark = _benchmark(inputs, run.days)
    m = compute_metrics(
        equity,
        invested=invested,
        fills=run.fills,
        benchmark=benchmark,
        risk_free=inputs.risk_free,
        n_trials=n_trials,
        sharpe_variance=sharpe_variance,
    )
    rf = inputs.risk_free
    excess = equity.pct_change().iloc[1:] - rf.per_day(run.days)[0]
    risk_free = {
        "name": rf.name,
        "mean_annual_rate": m.risk_free_mean,
        "convention": rf.convention,
        "missing_days": m.risk_free_missing_days,
    }
    walk = walk_forward(excess.to_frame(spec.name), settings.gate_oos_fraction)
    gate = evaluate_gate(
        m.as_dict(), settings, trials_text=1, trials_total=n_trials, walk=walk, risk_free=risk_free
    )
    metrics = {**m.as_dict(), "passed_gate": gate.passed, "gate_reasons": list(gate.reasons)}
    return BacktestResult(
        spec_name=spec.name,
        spec_hash=spec_hash(spec),
        backtestable=True,
        metrics=metrics,
        equity=equity,
        daily_returns=equity.pct_change().iloc[1:],
        benchmark=benchmark * (equity.iloc[0] / benchmark.iloc[0]),
        trades=run.fills,
        code=code,
        code_hash=code_hash,
        passed_gate=gate.passed,
        gate_reasons=list(gate.reasons),
        turnover=m.turnover,
        rejected_orders=run.rejected,
        notes=_notes(inputs, run, m.risk_free_missing_days),
        engine=engine,
        excess_returns=excess,
        gate=gate,
        risk_free=risk_free,
        exposure_cap=None if spec.family in LENDING_FAMILIES else inputs.exposure_cap,
        moments=m.moments,
        invested=invested,
    )


def _notes(inputs: BacktestInputs, run: EngineRun, rf_missing: int) -> list[str]:
    notes = list(inputs.notes)
    rf = inputs.risk_free
    if rf.is_zero:
        notes.append(f"risk-free rate: {rf.name}; Sharpe ratios are of plain returns")
    elif rf_missing:
        last = date_text(rf.last_day) if rf.last_day is not None else "?"
        notes.append(
            f"risk-free rate has no value on {count(rf_missing)} day(s) (it ends {last}); they count 0 %"
        )
    if run.rejected:
        notes.append(f"{count(run.rejected)} order(s) were rejected for lack of cash at the next open")
    if inputs.spec.family not in LENDING_FAMILIES and len(run.invested):
        idle = float(np.mean(run.invested / run.equity))
        notes.append(f"exposure cap {percent(inputs.exposure_cap, 0)}; average invested {percent(idle, 1)}")
    return notes


def _benchmark(inputs: BacktestInputs, days: pd.DatetimeIndex) -> pd.Series:
    """Buy-and-hold of the traded assets (equal weight), or staying in the first lending market
    (accrued and marked at its coin's price, like the strategy's own cash)."""
    spec = inputs.spec
    if spec.family in LENDING_FAMILIES:
        first = needed_markets(spec)[0]
        rates, marks = inputs.rates[first], inputs.marks[first]
        growth = (
            (1.0 + np.concatenate([[0.0], rates[:-1]]) / 365.0)
            * marks
            / np.concatenate([[marks[0]], marks[:-1]])
        )
        index = pd.Series(np.cumprod(growth), index=inputs.calendar)
        return index.reindex(days).rename("benchmark")
    if spec.family is Family.INDEX and spec.index is not None:
        traded = sorted(spec.index.weights)
    elif spec.family is Family.PAIR_RATIO and spec.pair is not None:
        traded = [spec.pair.numerator]
    else:
        traded = list(spec.universe.assets)
    rel = [inputs.frames[a]["close"].reindex(days) for a in traded]
    growth_rel = np.mean([(r / r.iloc[0]).to_numpy() for r in rel], axis=0)
    return pd.Series(growth_rel, index=days, name="benchmark")
