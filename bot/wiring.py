"""The composition root for chat: wires other areas (parser, backtest) into the command layer's and
the scheduler's hooks. ``core`` never imports these packages; only ``bot`` does.

Every hook imports its package lazily, so a deployment without an area still starts (the command
answers that the feature is not enabled, the job records ``not wired``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from core.commands.cards import backtest_card
from core.commands.context import Hooks
from core.config import Settings
from core.db import Database
from core.models.pipeline import StrategyCandidate
from core.notify import Notifier
from scheduler.jobs import JobHooks

log = logging.getLogger(__name__)


def install_safety() -> None:
    """Register the pre-trade checks (circuit breaker, redemption limit) with the ledger. Every
    entry point calls this before it can trade: the CLI (``bot.cli.main``), ``arena serve`` (chat
    adapters and scheduler), the console chat; the API's factory does the same."""
    import core.risk

    core.risk.install()


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
            return backtest_card(f"Backtest of candidate #{candidate_id} (stored result):", stored)
        if spec is None:
            return f"Candidate #{candidate_id} has no parsed spec to backtest ({state})."
        result = backtest(spec, _market(settings))
        verdict = "It passes the quality bar." if result.passed_gate else (
            "It does not pass the quality bar: " + "; ".join(result.gate_reasons))
        return backtest_card(f"Backtest of candidate #{candidate_id}:", result.metrics, verdict)

    def submit_source(source: str, organisation_id: int, user_id: int, channel: str = "chat") -> str:
        return submit_strategy(db, source, organisation_id, user_id, channel)

    def risk_free() -> Any:
        from bot.statement_cli import rates_for

        return rates_for(settings)

    return Hooks(
        import_url=import_url, run_backtest=run_backtest, risk_free=risk_free, submit_source=submit_source
    )


def submit_strategy(
    db: Database, source: str, organisation_id: int, user_id: int, channel: str = "chat"
) -> str:
    """Store a submitted write-up (text, or the page at a URL) as a source document with its
    candidate, and credit the organisation as its submitter (the import bounty). The pipeline parses
    it at its next run. A text the platform already has keeps its first submitter."""
    import hashlib

    from sqlalchemy import or_, select

    from core.bounty import BOUNTY_RATE, record_submission_in
    from core.formatting import percent
    from core.models.pipeline import SourceDocument, StrategyCandidate
    from parser.pipeline import documents_from
    from parser.sources import RawDocument
    from parser.store import save_documents

    now = db.clock.now()
    if source.startswith(("http://", "https://")):
        documents = documents_from(source, now)
    else:
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        title = source.splitlines()[0][:120]
        documents = [
            RawDocument("chat", "text", f"submission:{digest}", title, source, now,
                        {"submitted_by": f"organisation:{organisation_id}"})
        ]
    if not documents:
        return "Nothing to import was found at that address."
    doc = documents[0]
    with db.uow() as uow:
        s = uow.session
        outcome = save_documents(s, [doc], now)
        row = s.scalars(
            select(SourceDocument).where(
                or_(SourceDocument.url == doc.url[:1000], SourceDocument.content_hash == doc.content_hash)
            )
        ).first()
        if row is None:
            return "That text is empty; describe the strategy."
        sub, new = record_submission_in(
            s, now, document_id=row.id, channel=channel, organisation_id=organisation_id, user_id=user_id
        )
        candidate = s.scalar(select(StrategyCandidate.id).where(StrategyCandidate.document_id == row.id))
        mine = sub.organisation_id == organisation_id
        uow.commit()
    if outcome.new and new:
        return (
            f"Strategy submitted as candidate #{candidate}. The import pipeline parses, backtests and "
            f"paper-trades it; if it becomes a token, your organisation earns {percent(BOUNTY_RATE, 0)} "
            "of its net gains to holders in its first 365 days (/bounties). /strategies shows its progress."
        )
    if mine:
        return f"Your organisation already submitted this strategy (candidate #{candidate})."
    return (
        f"The platform already had this strategy (candidate #{candidate}); the bounty stays with its "
        "first submitter."
    )


def job_hooks(settings: Settings, notifier: Notifier | None = None) -> JobHooks:
    """Hooks for the scheduler's NAV marks (stale tokens are wound down and their holders told
    through ``notifier``), paper-trading step and daily import."""

    def mark_navs(db: Database, day: date) -> dict[str, Any]:
        from backtest.live import mark_token_navs

        return mark_token_navs(db, day, _market(settings), notifier=notifier, settings=settings)

    def paper_step(db: Database, now: datetime) -> dict[str, Any]:
        from parser.pipeline import run_import

        return run_import(db.uow, None, _market(settings), clock=db.clock, paper_mode="live").to_json()

    def import_run(db: Database, now: datetime) -> dict[str, Any]:
        from parser.pipeline import documents_from, run_import
        from parser.sources.registry import load_registry

        wanted = [n.strip() for n in settings.import_sources.split(",") if n.strip()]
        if wanted == ["all"]:
            wanted = sorted(load_registry().sources)
        documents, errors = [], {}
        for name in wanted:  # one unreachable source must not stop the others
            try:
                documents.extend(documents_from(name, now))
            except Exception as error:  # network, robots.txt, parse errors: recorded, not raised
                errors[name] = f"{type(error).__name__}: {str(error)[:200]}"
                log.warning("import source %s failed: %s", name, errors[name], exc_info=True)
        report = run_import(db.uow, documents or None, _market(settings), clock=db.clock, paper_mode="live")
        # Failed sources make the job run partial (or failed when none worked), with each error.
        return {**report.to_json(), "sources": wanted, "source_errors": errors,
                "failed_items": {f"source:{n}": e for n, e in errors.items()},
                "ok_items": len(wanted) - len(errors) if wanted else 1}

    return JobHooks(mark_navs=mark_navs, paper_step=paper_step, import_run=import_run)
