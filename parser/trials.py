"""Implement and backtest steps of the import pipeline: variants as trials, screened, one finalist.

* :func:`implement` turns a parsed candidate into its variants (:mod:`parser.variants`), stored as
  :class:`~core.models.pipeline.StrategyTrial` rows (not yet run).
* :func:`backtest_candidate` screens all of a candidate's variants with the vector engine on one
  common window (:func:`backtest.screen.screen`), numbers every trial that ran, picks the best by
  excess Sharpe, has the Backtrader agent confirm it (the engines must agree: the largest daily
  difference is recorded), and builds the gate report: the brief's three checks, the deflated
  Sharpe with the real trial count, the walk-forward check over the variants and PBO. Only the
  best variant of a text can move on: it becomes the candidate's TreasuryAgent.

The deflated Sharpe ratio (Bailey & López de Prado 2014) needs N, the number of trials, and V, the
variance of the trials' Sharpe ratios. N is the real count: every trial the pipeline ever ran
(overall; the gate uses it) and this text's variants (reported beside it). V is the cross-trial
variance of *this text's variants'* per-day Sharpe ratios — their dispersion is the luck a search
over parameters buys; pooling different strategies' Sharpe ratios would measure how different
they are, not luck. A text with one variant has no cross-trial variance: the Sharpe estimator's own
sampling variance stands in (see :func:`backtest.metrics.deflated_sharpe`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backtest import MarketData, run_backtest
from backtest.gate import GateReport, evaluate_gate, walk_forward
from backtest.metrics import PboResult, deflated_sharpe, probability_of_backtest_overfitting
from backtest.screen import Screen, screen
from core.config import Settings
from core.errors import ArenaError
from core.models import TreasuryAgent
from core.models.pipeline import StrategyCandidate, StrategyTrial
from core.spec import StrategySpec, load_spec, spec_hash
from parser.risk_variants import is_risk_managed
from parser.variants import build_variants

log = logging.getLogger(__name__)


def implement(
    session: Session, candidate: StrategyCandidate, market: MarketData, settings: Settings, now: dt.datetime
) -> int:
    """Store the candidate's variants as trials; returns how many."""
    spec = load_spec(candidate.spec or {})
    family = build_variants(
        spec,
        candidate.document.text,
        market.prices.keys(),
        settings.max_variants_per_text,
        risk_managed=settings.import_risk_variants,
    )
    variants = family.variants or []
    if not variants:
        raise ArenaError("no variant of the parsed strategy is valid")
    for index, variant in enumerate(variants):
        session.add(
            StrategyTrial(
                candidate_id=candidate.id,
                variant=index,
                label=variant.label[:300],
                spec=variant.spec.model_dump(mode="json"),
                spec_sha256=spec_hash(variant.spec),
                created_at=now,
            )
        )
    candidate.variants = len(variants)
    candidate.gate_report = {"variants": family.summary()}
    return len(variants)


@dataclass
class Outcome:
    """What the backtest step decided for one candidate."""

    report: GateReport | None
    metrics: dict[str, Any] | None
    agent_id: int | None
    reason: str | None  # why it could not be backtested (None when it was)


def backtest_candidate(
    session: Session,
    candidate: StrategyCandidate,
    market: MarketData,
    end: dt.date | None,
    settings: Settings,
    now: dt.datetime,
) -> Outcome:
    """Screen the candidate's trials, confirm the best with Backtrader, build its gate report."""
    trials = list(
        session.scalars(
            select(StrategyTrial)
            .where(StrategyTrial.candidate_id == candidate.id)
            .order_by(StrategyTrial.variant)
        )
    )
    specs = [load_spec(t.spec) for t in trials]
    result = screen(specs, market, None, end, labels=[t.label for t in trials])
    _store_trials(session, trials, result, now)
    ran = result.ran
    if not ran or result.start is None or result.end is None:
        errors = sorted({t.error or "" for t in result.trials})
        return Outcome(None, None, None, "; ".join(errors)[:900] or "no variant could be backtested")
    n_total = trial_statistics(session)
    groups = {
        name: _gate_group(result, specs, indices, market, n_total, settings)
        for name, indices in _groups(trials, result).items()
    }
    chosen = _choose(groups)
    best, confirm, report = groups[chosen]
    if len(groups) > 1:  # risk-managed versions beside the variants as written, each with its gate
        report.extra["groups"] = {name: _group_json(g, name == chosen) for name, g in groups.items()}
    metrics = {**confirm.metrics, "backtest_end": end.isoformat() if end else None}
    agent = TreasuryAgent(
        name=specs[best].name,
        family=specs[best].family.value,
        spec_version=specs[best].spec_version,
        spec=specs[best].model_dump(mode="json"),
        spec_sha256=confirm.spec_hash,
        code=confirm.code,
        code_sha256=confirm.code_hash,
        source_url=candidate.document.url,
        backtest_metrics=metrics,
        paper_metrics=None,
        gate_report=report.to_json(),
        created_at=now,
    )
    session.add(agent)
    session.flush()
    return Outcome(report, metrics, agent.id, None)


Group = tuple[int, Any, GateReport]  # best trial index, its Backtrader confirmation, its gate report


def _groups(trials: list[StrategyTrial], result: Screen) -> dict[str, list[int]]:
    """Indices of the trials that ran: as written, and (when there are any) risk-managed."""
    ran = {t.index for t in result.ran}
    out: dict[str, list[int]] = {"as_written": [], "risk_managed": []}
    for i, trial in enumerate(trials):
        if i in ran:
            out["risk_managed" if is_risk_managed(trial.label) else "as_written"].append(i)
    return {name: indices for name, indices in out.items() if indices}


def _gate_group(
    result: Screen, specs: list[StrategySpec], indices: list[int], market: MarketData, n_total: int,
    settings: Settings,
) -> Group:  # fmt: skip
    """The best of ``indices`` by excess Sharpe, confirmed by Backtrader and gated. The deflated
    Sharpe counts every trial (``n_total``); walk-forward and PBO choose among the group's own."""
    best = max((result.trials[i] for i in indices), key=lambda t: (t.sharpe or 0.0, -t.index)).index
    confirm = run_backtest(
        specs[best],
        market,
        result.start.date() if result.start is not None else None,
        result.end.date() if result.end is not None else None,
        n_trials=n_total,
        sharpe_variance=result.sharpe_variance(),
        settings=settings,
    )
    return best, confirm, _report(result, confirm, best, n_total, settings, indices)


def _choose(groups: dict[str, Group]) -> str:
    """The group whose best moves on: a passing one (the higher excess Sharpe if both pass), else
    the one with the higher excess Sharpe (its report says why it failed)."""

    def sharpe(name: str) -> float:
        return float(groups[name][1].metrics.get("sharpe") or 0.0)

    passing = [name for name, g in groups.items() if g[2].passed]
    return max(passing or list(groups), key=lambda name: (sharpe(name), name == "as_written"))


def _group_json(group: Group, chosen: bool) -> dict[str, Any]:
    _best, confirm, report = group
    return {
        "best_variant": report.extra.get("best_variant"),
        "passed": report.passed,
        "chosen": chosen,
        "trials": report.extra.get("trials_group"),
        "sharpe": confirm.metrics.get("sharpe"),
        "max_drawdown": confirm.metrics.get("max_drawdown"),
        "volatility": confirm.metrics.get("volatility"),
        "checks": [c.to_json() for c in report.checks],
    }


def _store_trials(session: Session, trials: list[StrategyTrial], result: Screen, now: dt.datetime) -> None:
    number = int(session.scalar(select(func.max(StrategyTrial.number))) or 0)
    for trial, outcome in zip(trials, result.trials, strict=True):
        trial.backtested_at = now
        trial.engine = outcome.engine
        trial.error = outcome.error[:1000] if outcome.error else None
        trial.metrics = outcome.to_json() if outcome.ok else None
        trial.window_start = result.start.date() if result.start is not None else None
        trial.window_end = result.end.date() if result.end is not None else None
        if outcome.ok and trial.number is None:
            number += 1
            trial.number = number
    session.flush()


def mark_not_run(session: Session, candidate: StrategyCandidate, reason: str, now: dt.datetime) -> None:
    """Record on each of the candidate's trials why it never ran (they do not count in N)."""
    for trial in session.scalars(select(StrategyTrial).where(StrategyTrial.candidate_id == candidate.id)):
        trial.error = reason[:1000]
        trial.backtested_at = now


def trial_statistics(session: Session) -> int:
    """How many trials the pipeline ever ran (all texts, all runs): the DSR's N."""
    return int(session.scalar(select(func.count()).where(StrategyTrial.number.is_not(None))) or 0)


def _report(
    result: Screen, confirm: Any, best: int, n_total: int, settings: Settings, indices: list[int]
) -> GateReport:
    labels = {t.index: t.label for t in result.trials}
    columns = [i for i in result.excess.columns if i in set(indices)]
    excess = result.excess[columns].rename(columns=labels)
    walk = walk_forward(excess, settings.gate_oos_fraction)
    pbo = _pbo(result.excess[columns].to_numpy(), settings)
    n_text = len(result.ran)
    best_excess = result.excess[best].to_numpy()
    dsr_text = deflated_sharpe(best_excess, n_text, result.sharpe_variance())
    report = evaluate_gate(
        confirm.metrics,
        settings,
        trials_text=n_text,
        trials_total=n_total,
        walk=walk,
        pbo=pbo,
        risk_free=confirm.risk_free,
        dsr_text=dsr_text,
    )
    parity = (
        float(np.max(np.abs(confirm.excess_returns.to_numpy() - best_excess))) if len(best_excess) else 0.0
    )
    report.extra.update(
        best_variant=labels[best],
        window=[
            str(result.start.date()) if result.start is not None else None,
            str(result.end.date()) if result.end is not None else None,
        ],
        dsr_text=round(dsr_text, 6),
        dsr_total=confirm.metrics.get("dsr"),
        sharpe_variance=result.sharpe_variance(),
        engines_max_daily_difference=parity,
        agent_sha256=confirm.code_hash,
        notes=list(confirm.notes),
        trials_group=len(columns),
    )
    return report


def _pbo(excess: np.ndarray, settings: Settings) -> PboResult | None:
    if excess.shape[1] < 2:
        return None
    try:
        return probability_of_backtest_overfitting(excess, settings.gate_pbo_partitions)
    except ValueError as exc:
        log.info("PBO not computed: %s", exc)
        return None


def spec_of(trial: StrategyTrial) -> StrategySpec:
    return load_spec(trial.spec)
