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
from parser.variants import build_variants

log = logging.getLogger(__name__)


def implement(
    session: Session, candidate: StrategyCandidate, market: MarketData, settings: Settings, now: dt.datetime
) -> int:
    """Store the candidate's variants as trials; returns how many."""
    spec = load_spec(candidate.spec or {})
    family = build_variants(
        spec, candidate.document.text, market.prices.keys(), settings.max_variants_per_text
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
    best = result.best()
    assert best is not None
    n_total = trial_statistics(session)
    confirm = run_backtest(
        specs[best.index],
        market,
        result.start.date(),
        result.end.date(),
        n_trials=n_total,
        sharpe_variance=result.sharpe_variance(),
        settings=settings,
    )
    report = _report(result, confirm, best.index, n_total, settings)
    metrics = {**confirm.metrics, "backtest_end": end.isoformat() if end else None}
    agent = TreasuryAgent(
        name=specs[best.index].name,
        family=specs[best.index].family.value,
        spec_version=specs[best.index].spec_version,
        spec=specs[best.index].model_dump(mode="json"),
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


def _report(result: Screen, confirm: Any, best: int, n_total: int, settings: Settings) -> GateReport:
    labels = {t.index: t.label for t in result.trials}
    excess = result.excess.rename(columns=labels)
    walk = walk_forward(excess, settings.gate_oos_fraction)
    pbo = _pbo(result, settings)
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
    )
    return report


def _pbo(result: Screen, settings: Settings) -> PboResult | None:
    if result.excess.shape[1] < 2:
        return None
    try:
        return probability_of_backtest_overfitting(result.excess.to_numpy(), settings.gate_pbo_partitions)
    except ValueError as exc:
        log.info("PBO not computed: %s", exc)
        return None


def spec_of(trial: StrategyTrial) -> StrategySpec:
    return load_spec(trial.spec)
