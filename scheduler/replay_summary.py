"""The JSON report of ``arena replay`` (figures from :mod:`scheduler.replay_report`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from backtest.data.riskfree import RiskFree
from backtest.metrics import max_drawdown
from backtest.plan import risk_tools
from core.db import Database
from core.models import AuditLog, NavMark, StrategyToken
from core.models.wallets_ext import RebalanceExecution, RebalanceProposal
from core.notify import CollectingNotifier
from core.risk import insurance_fund_balance
from scheduler.replay_report import TARGETS, cash_periods, percentile, series_stats, verdict


def build_report(
    db: Database,
    state: Any,
    gatekeeper: Any,
    start: date,
    end: date,
    wallets: int,
    seed: int,
    gate: str,
    notifier: CollectingNotifier,
    risk_free: RiskFree,
) -> dict[str, Any]:
    ai = series_stats(pd.Series(state.ai_values), risk_free)
    ew = series_stats(pd.Series(state.ew_returns), risk_free)
    with db.uow(read_only=True) as uow:
        s = uow.session
        drifts = [
            float(d)
            for (d, trig) in s.execute(select(RebalanceExecution.drift_before, RebalanceExecution.trigger))
            if trig != "initial"
        ]
        rebalances = int(s.scalar(select(func.count()).select_from(RebalanceExecution)) or 0)
        costs = sum(float(c) for c in s.scalars(select(RebalanceExecution.trading_costs)))
        retired = list(
            s.execute(select(AuditLog.subject, AuditLog.details).where(AuditLog.action == "token.retire"))
        )
        trips = int(
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "risk.circuit_breaker.trip")
            )
            or 0
        )
        tokens = [
            _token_row(s, token, risk_free)
            for token in s.scalars(select(StrategyToken).order_by(StrategyToken.id))
        ]
        insurance = insurance_fund_balance(s)
        proposals = dict(
            s.execute(select(RebalanceProposal.status, func.count()).group_by(RebalanceProposal.status)).all()
        )
    live = [t for t in tokens if t is not None]
    diff = None  # without a single live token the comparison measures two cash piles
    if live and ai["annual_return"] is not None and ew["annual_return"] is not None:
        diff = round(float(ai["annual_return"]) - float(ew["annual_return"]), 6)
    measured = {
        "share_beating_hold": round(float(np.mean([t["beat_holding"] for t in live])), 4) if live else None,
        "average_sharpe": round(float(np.mean([t["sharpe"] for t in live])), 4) if live else None,
        "worst_token_drawdown": max((t["max_drawdown"] for t in live), default=None),
        "ai_minus_equal_weight": diff,
        "drift_p95": percentile(drifts, 95) if live else None,  # no token: nothing could drift
    }
    daily = pd.DataFrame(state.daily).set_index("date") if state.daily else pd.DataFrame()
    stale = [r for r in retired if "stale" in str((r[1] or {}).get("reason", ""))]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "wallets_per_mode": wallets,
        "seed": seed,
        "gate": gate,
        "risk_free": {"name": risk_free.name, "convention": risk_free.convention},
        "comparison": {"ai": ai, "equal_weight": ew, "ai_minus_equal_weight_annual": diff},
        "drift_at_rebalance": {
            "count": len(drifts),
            "mean": round(sum(drifts) / len(drifts), 6) if drifts else None,
            "p95": percentile(drifts, 95),
        },
        "rebalances": rebalances,
        "trading_costs_usd": round(costs, 2),
        "proposals": {str(k): int(v) for k, v in proposals.items()},
        "tokens": {
            "count": len(live),
            "share_beating_hold": measured["share_beating_hold"],
            "average_sharpe": measured["average_sharpe"],
            "detail": live,
        },
        "kill_switches": len(retired) - len(stale),
        "stale_wind_downs": len(stale),
        "circuit_breakers": trips,
        "gate_trials": gatekeeper.trials,
        "gate_evaluations": gatekeeper.evaluations,
        "gate_failures": gatekeeper.failures,
        "insurance_fund_usd": format(insurance, "f"),
        "notifications": len(notifier.messages),
        "targets": {key: target for key, _label, target, _op in TARGETS},
        "verdict": verdict(measured),
        "cash_periods": cash_periods(daily),
        "skipped": state.skipped + list(gatekeeper.refused.values()),
        "risk_tools": risk_tools_summary(state.strategies, state.skipped),
    }


def risk_tools_summary(strategies: list[Any], skipped: list[dict[str, str]]) -> dict[str, Any]:
    """How many strategies passed the honest gate (became tokens) without and with issue 15's risk
    tools (volatility targeting, drawdown stop, T-bill leg); skipped ones never reached the gate."""
    out: dict[str, Any] = {}
    for key, wanted in (("without", False), ("with", True)):
        group = [s for s in strategies if bool(risk_tools(s.spec)) is wanted]
        out[key] = {
            "strategies": len(group),
            "tokenized": sum(s.symbol is not None for s in group),
            "passed": sorted(s.name for s in group if s.symbol is not None),
        }
    out["skipped"] = len(skipped)
    return out


def _token_row(session: Any, token: StrategyToken, risk_free: RiskFree) -> dict[str, Any] | None:
    marks = session.execute(
        select(NavMark.as_of, NavMark.nav_per_token, NavMark.benchmark_return, NavMark.daily_return)
        .where(NavMark.token_id == token.id)
        .order_by(NavMark.as_of)
    ).all()
    if len(marks) < 2:
        return None
    returns = pd.Series([float(m[3]) for m in marks], index=[m[0] for m in marks])
    stats = series_stats(returns, risk_free)
    hold = float(np.prod([1 + float(m[2]) for m in marks]) - 1)
    strat = float(np.prod(1 + returns.to_numpy()) - 1)
    navs = np.array([float(m[1]) for m in marks])
    return {
        "symbol": token.symbol,
        "status": token.status.value,
        "days": len(marks),
        "return": round(strat, 6),
        "hold_asset_return": round(hold, 6),
        "sharpe": stats["sharpe"] or 0.0,
        "max_drawdown": round(max_drawdown(navs), 6),
        "beat_holding": strat > hold,
    }
