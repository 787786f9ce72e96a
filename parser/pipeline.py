"""The import pipeline: discover -> parse -> implement -> backtest -> gate -> prove -> tokenize.

Every step reads candidates by their persisted state and commits after each candidate, so a re-run
resumes where the last one stopped and never duplicates: documents are unique by URL and content
hash, each document has one candidate, each candidate its variants (trials) and at most one agent,
and the tokenization carries the idempotency key ``import:candidate:<id>:tokenize``.

* **Implement** (:mod:`parser.trials`): a parsed text becomes a bounded family of variants
  (:mod:`parser.variants`), each stored as a trial.
* **Backtest and gate**: the variants are screened by the vector engine on one common window, the
  best is confirmed by the Backtrader agent, and the gate report (:mod:`backtest.gate`) decides:
  the brief's three checks, DSR >= 0.95 with the real trial count (every trial ever run, per text
  and overall, both reported), walk-forward, PBO. Only the best variant of a text can move on.
* **Prove** (:mod:`parser.proving`): ``paper_mode="forward"`` (default) paper-trades on data as it
  arrives; ``"replay"`` on the held-out last ``paper_days`` of history, and says so on the token.
* Passing candidates are tokenized as ``STRAT-<FAMILY>-<ASSET>-<NNN>`` with the configured fixed
  supply, through :func:`core.ledger.tokenize`.

:class:`ImportReport` has one entry per text handled in the run (``texts``): its trial counts and
each gate check with its number, or why it was rejected.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress
from sqlalchemy import func, select

from backtest import MarketData
from backtest.plan import needed_assets, needed_markets
from core.clock import Clock
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.errors import ArenaError
from core.models import TreasuryAgent
from core.models.pipeline import CandidateState, StrategyCandidate
from core.spec import load_spec
from parser.proving import paper_mode_name, paper_status, proof_label, tokenize_candidate
from parser.result import StrategyParser
from parser.sources.base import RawDocument
from parser.store import candidates_in, next_symbol, record_parse, save_documents
from parser.trials import backtest_candidate, implement, mark_not_run, trial_statistics

log = logging.getLogger(__name__)
UowFactory = Callable[[], UnitOfWork]


@dataclass
class ImportReport:
    new_documents: int = 0
    duplicates: int = 0
    parsed: int = 0
    rejected: int = 0
    implemented: int = 0
    backtested: int = 0
    failed_gate: int = 0
    proving: int = 0
    tokenized: int = 0
    n_trials: int = 0  # trials ever run (all texts, all runs): the deflated Sharpe's N
    tokens: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    paper_mode: str = "forward"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def default_parser() -> StrategyParser:
    """The LLM parser when an endpoint is configured, the offline parser otherwise."""
    from parser.llm import llm_configured

    if llm_configured():
        from parser.llm import LLMParser

        return LLMParser.from_settings()
    from parser.offline import OfflineParser

    return OfflineParser()


def run_import(
    uow_factory: UowFactory,
    documents: Iterable[RawDocument] | None,
    market: MarketData,
    *,
    clock: Clock,
    parser: StrategyParser | None = None,
    executor: Executor | None = None,
    paper_mode: str = "forward",
    settings: Settings | None = None,
    progress: bool = False,
) -> ImportReport:
    """Run (or resume) the whole pipeline; ``documents=None`` only resumes pending candidates.

    ``executor`` is accepted for compatibility; variants are screened in-process (they are fast).
    """
    del executor
    started = time.perf_counter()
    settings = settings or get_settings()
    parser = parser or default_parser()
    report = ImportReport(paper_mode=paper_mode_name(paper_mode))
    with Progress(disable=not progress, transient=True) as bars:
        if documents is not None:
            with uow_factory() as uow:
                outcome = save_documents(uow.session, documents, clock.now())
                uow.commit()
            report.new_documents, report.duplicates = outcome.new, outcome.duplicates
        _parse_all(uow_factory, parser, clock, report, bars)
        _implement_all(uow_factory, market, clock, settings, report)
        _backtest_all(uow_factory, market, clock, settings, report, bars)
        _prove_all(uow_factory, market, clock, settings, report, bars)
    with uow_factory() as uow:
        report.n_trials = trial_statistics(uow.session)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _parse_all(
    uow_factory: UowFactory, parser: StrategyParser, clock: Clock, report: ImportReport, bars: Progress
) -> None:
    with uow_factory() as uow:
        ids = [c.id for c in candidates_in(uow.session, CandidateState.DISCOVERED)]
    task = bars.add_task("parse", total=len(ids))
    for cid in ids:
        with uow_factory() as uow:
            candidate = uow.session.get(StrategyCandidate, cid)
            if candidate is None or candidate.state is not CandidateState.DISCOVERED:
                continue
            doc = candidate.document
            t0 = time.perf_counter()
            result = parser.parse(doc.text, title=doc.title, source_ref=doc.url)
            record_parse(uow.session, candidate, result, clock.now(), int((time.perf_counter() - t0) * 1000))
            if candidate.state is CandidateState.PARSED:
                report.parsed += 1
            else:
                report.rejected += 1
                report.texts.append(_text_row(candidate))
            uow.commit()
        bars.advance(task)


def _implement_all(
    uow_factory: UowFactory, market: MarketData, clock: Clock, settings: Settings, report: ImportReport
) -> None:
    with uow_factory() as uow:
        ids = [c.id for c in candidates_in(uow.session, CandidateState.PARSED)]
    for cid in ids:
        with uow_factory() as uow:
            candidate = uow.session.get(StrategyCandidate, cid)
            if candidate is None or candidate.state is not CandidateState.PARSED:
                continue
            now = clock.now()
            try:
                implement(uow.session, candidate, market, settings, now)
            except ArenaError as exc:
                _reject(candidate, f"could not implement: {exc}", now)
                report.rejected += 1
                report.texts.append(_text_row(candidate))
            else:
                candidate.state = CandidateState.IMPLEMENTED
                candidate.updated_at = now
                report.implemented += 1
            uow.commit()


def _backtest_end(market: MarketData, spec: Any, paper_days: int, paper_mode: str) -> dt.date:
    """Last day of the backtest: the data's last day (forward), or ``paper_days`` before (replay),
    and never after the risk-free series ends (excess returns need it). Raises
    :class:`core.errors.ArenaError` naming the series that is missing."""
    _lo, hi = market.span(needed_assets(spec), needed_markets(spec))
    rf_last = market.riskfree().last_day
    if rf_last is not None:
        hi = min(hi, rf_last)
    end = hi - pd.Timedelta(days=paper_days) if paper_mode == "replay" else hi
    return end.date()


def _backtest_all(
    uow_factory: UowFactory,
    market: MarketData,
    clock: Clock,
    settings: Settings,
    report: ImportReport,
    bars: Progress,
) -> None:
    with uow_factory() as uow:
        ids = [c.id for c in candidates_in(uow.session, CandidateState.IMPLEMENTED)]
    task = bars.add_task("backtest variants", total=len(ids))
    for cid in ids:
        with uow_factory() as uow:
            candidate = uow.session.get(StrategyCandidate, cid)
            if candidate is None or candidate.state is not CandidateState.IMPLEMENTED:
                continue
            _backtest_one(uow, candidate, market, clock, settings, report)
            report.texts.append(_text_row(candidate))
            uow.commit()
        bars.advance(task)


def _backtest_one(
    uow: UnitOfWork,
    candidate: StrategyCandidate,
    market: MarketData,
    clock: Clock,
    settings: Settings,
    report: ImportReport,
) -> None:
    now = clock.now()
    mode = report.paper_mode
    if candidate.trial_number is None:  # the order in which texts reached the backtest
        last = uow.session.scalar(select(func.max(StrategyCandidate.trial_number)))
        candidate.trial_number = int(last or 0) + 1
    try:
        end = _backtest_end(market, load_spec(candidate.spec or {}), settings.paper_days, mode)
        outcome = backtest_candidate(uow.session, candidate, market, end, settings, now)
    except ArenaError as exc:
        log.info("candidate %s cannot be backtested: %s", candidate.id, exc)
        mark_not_run(uow.session, candidate, f"not run: {exc}", now)
        _reject(candidate, f"backtest impossible: {exc}", now)
        report.rejected += 1
        return
    if outcome.report is None:
        _reject(candidate, f"backtest impossible: {outcome.reason}", now)
        report.rejected += 1
        return
    report.backtested += 1
    variants = (candidate.gate_report or {}).get("variants")
    candidate.gate_report = {**outcome.report.to_json(), "variants": variants, "proof": mode}
    candidate.backtest_metrics = outcome.metrics
    candidate.agent_id = outcome.agent_id
    candidate.paper_mode = mode
    candidate.updated_at = now
    if outcome.report.passed:
        candidate.state = CandidateState.PROVING
        candidate.paper_started_at = now
    else:
        candidate.state = CandidateState.FAILED_GATE
        candidate.reject_reason = ("gate: " + "; ".join(outcome.report.reasons))[:1000]
        report.failed_gate += 1


def candidates_in_all(uow: UnitOfWork) -> list[StrategyCandidate]:
    from sqlalchemy import select

    return list(
        uow.session.scalars(select(StrategyCandidate).where(StrategyCandidate.trial_number.is_not(None)))
    )


def _prove_all(
    uow_factory: UowFactory,
    market: MarketData,
    clock: Clock,
    settings: Settings,
    report: ImportReport,
    bars: Progress,
) -> None:
    with uow_factory() as uow:
        ids = [c.id for c in candidates_in(uow.session, CandidateState.PROVING)]
    task = bars.add_task("paper trading", total=len(ids))
    for cid in ids:
        passed = False
        with uow_factory() as uow:
            candidate = uow.session.get(StrategyCandidate, cid)
            if candidate is None or candidate.state is not CandidateState.PROVING:
                continue
            agent = uow.session.get(TreasuryAgent, candidate.agent_id) if candidate.agent_id else None
            spec = dict(agent.spec) if agent is not None else dict(candidate.spec or {})
            status, extra = paper_status(candidate, spec, market, clock, settings)
            candidate.paper_metrics = {
                **status.as_dict(),
                **extra,
                "label": proof_label(candidate.paper_mode),
            }
            candidate.updated_at = clock.now()
            if status.state == "running":
                report.proving += 1
            elif status.state == "failed":
                candidate.state = CandidateState.FAILED_GATE
                candidate.reject_reason = ("paper trading: " + "; ".join(status.reasons))[:1000]
                report.failed_gate += 1
            else:
                passed = True
                # Reserve the symbol first: a re-run after a crash reuses it with the same
                # idempotency key, so the ledger returns the token it already created.
                if candidate.token_symbol is None:
                    candidate.token_symbol = next_symbol(
                        uow.session, candidate.family or "other", candidate.primary_asset or "MULTI"
                    )
            uow.commit()
        if passed:
            report.tokens.append(tokenize_candidate(uow_factory, cid, settings, clock))
            report.tokenized += 1
        bars.advance(task)


def _text_row(candidate: StrategyCandidate) -> dict[str, Any]:
    """One text's line in the import report: state, trials and gate checks (or the reason)."""
    gate = candidate.gate_report or {}
    return {
        "candidate": candidate.id,
        "title": candidate.document.title[:120],
        "family": candidate.family,
        "state": candidate.state.value,
        "variants": candidate.variants,
        "trials_text": gate.get("trials_text"),
        "trials_total": gate.get("trials_total"),
        "best_variant": gate.get("best_variant"),
        "window": gate.get("window"),
        "risk_free": (gate.get("risk_free") or {}).get("name"),
        "checks": [
            {
                "name": c["name"],
                "label": c.get("label") or c["name"],
                "value": c["value"],
                "threshold": c["threshold"],
                "passed": c["passed"],
                "applicable": c["applicable"],
                "detail": c["detail"],
            }
            for c in gate.get("checks", [])
        ],
        "groups": gate.get("groups"),  # as written / risk-managed, each with its gate (issue 15)
        "reason": candidate.reject_reason,
    }


def _reject(candidate: StrategyCandidate, reason: str, now: dt.datetime) -> None:
    candidate.state = CandidateState.REJECTED
    candidate.reject_reason = reason[:1000]
    candidate.updated_at = now


def documents_from(source: str, now: dt.datetime, *, fetcher: Any = None) -> list[RawDocument]:
    """Resolve ``arena import --source NAME|URL|FILE`` into documents (fetching when remote)."""
    from parser.sources import SafeFetcher, dedupe, load_jsonl, resolve_source
    from parser.sources.registry import load_text_file

    resolved = resolve_source(source)
    if isinstance(resolved, Path):
        if resolved.suffix == ".jsonl":
            return dedupe(load_jsonl(resolved, now))
        return [load_text_file(resolved, now)]
    own = fetcher is None
    http = fetcher or SafeFetcher()
    try:
        return dedupe(resolved.fetch(http, now))
    finally:
        if own:
            http.close()


EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def example_documents(now: dt.datetime) -> list[RawDocument]:
    """The project's own example write-ups (``parser/examples/*.txt``) as raw documents."""
    from parser.sources.registry import load_text_file

    docs = []
    for path in sorted(EXAMPLES_DIR.glob("*.txt")):
        doc = load_text_file(path, now)
        docs.append(
            RawDocument(
                source="examples",
                kind="file",
                url=f"example://{path.name}",
                title=doc.title,
                text=doc.text,
                fetched_at=now,
                provenance={"file": path.name},
            )
        )
    return docs
