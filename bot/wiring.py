"""The composition root for chat: wires other areas (parser, backtest) into the command layer's and
the scheduler's hooks. ``core`` never imports these packages; only ``bot`` does.

Every hook imports its package lazily, so a deployment without an area still starts (the command
answers that the feature is not enabled, the job records ``not wired``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from core.commands.context import Hooks
from core.config import Settings
from core.db import Database
from core.models.pipeline import StrategyCandidate
from scheduler.jobs import JobHooks


def _market(settings: Settings) -> Any:
    from backtest import load_market

    return load_market(settings.data_dir)


def command_hooks(db: Database, settings: Settings) -> Hooks:
    """Hooks for /import and /backtest."""

    def import_url(url: str, key: str) -> str:
        from parser.pipeline import documents_from, run_import

        documents = documents_from(url, db.clock.now())
        report = run_import(db.uow, documents, _market(settings), clock=db.clock, paper_mode="live")
        tokens = ", ".join(report.tokens) or "none yet"
        return (
            f"Imported {report.new_documents} new document(s) ({report.duplicates} already known): "
            f"{report.parsed} parsed, {report.rejected} rejected, {report.backtested} backtested, "
            f"{report.proving} proving. New tokens: {tokens}. See /strategies."
        )

    def run_backtest(candidate_id: int) -> str:
        from backtest import run_backtest as backtest

        with db.uow(read_only=True) as uow:
            candidate = uow.session.get(StrategyCandidate, candidate_id)
            if candidate is None:
                return f"No candidate #{candidate_id}; see /strategies."
            spec, stored, state = candidate.spec, candidate.backtest_metrics, candidate.state.value
        if stored:
            return f"Backtest of #{candidate_id} (stored): {_metrics(stored)}"
        if spec is None:
            return f"Candidate #{candidate_id} has no parsed spec to backtest ({state})."
        result = backtest(spec, _market(settings))
        verdict = "passes" if result.passed_gate else "fails"
        return f"Backtest of #{candidate_id}: {_metrics(result.metrics)}; {verdict} the quality bar."

    return Hooks(import_url=import_url, run_backtest=run_backtest)


def _metrics(metrics: dict[str, Any]) -> str:
    keys = ("days", "sharpe", "max_drawdown", "annual_return", "psr", "dsr")
    shown = {k: metrics[k] for k in keys if k in metrics} or dict(list(metrics.items())[:6])
    return json.dumps(shown, default=str)


def job_hooks(settings: Settings) -> JobHooks:
    """Hooks for the scheduler's paper-trading step and daily import.

    ``mark_navs`` stays unset: no area exposes a "mark every live token for a day" service yet
    (``arena replay`` does it privately), so the NAV job records ``not wired`` for that part and
    still accrues fees.
    """

    def paper_step(db: Database, now: datetime) -> dict[str, Any]:
        from parser.pipeline import run_import

        return run_import(db.uow, None, _market(settings), clock=db.clock, paper_mode="live").to_json()

    def import_run(db: Database, now: datetime) -> dict[str, Any]:
        from parser.pipeline import run_import

        return run_import(db.uow, None, _market(settings), clock=db.clock, paper_mode="live").to_json()

    return JobHooks(mark_navs=None, paper_step=paper_step, import_run=import_run)


def mark_navs_not_wired(db: Database, day: date) -> dict[str, Any]:  # pragma: no cover - documentation
    """Placeholder name for the missing service (see :func:`job_hooks`)."""
    return {"skipped": "mark_navs not wired"}
