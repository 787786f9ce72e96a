"""The import pipeline: discover -> parse -> implement -> backtest -> gate -> prove -> tokenize.

Every step reads candidates by their persisted state and commits after each candidate (or each
backtest batch), so a re-run resumes where the last one stopped and never duplicates: documents are
unique by URL and content hash, each document has one candidate, each candidate one agent, and the
tokenization carries the idempotency key ``import:candidate:<id>:tokenize``.

* **Deflated Sharpe**: every candidate sent to a backtest gets a ``trial_number``; the backtest's
  ``n_trials`` is the number of candidates ever tried (all runs), so the DSR deflates for real.
* **Proving** (``paper_mode``): ``"replay"`` (default, offline) backtests up to the spec's last data
  day minus ``settings.paper_days`` and paper-trades the held-out days on a simulated clock;
  ``"live"`` backtests up to the last data day and paper-trades day by day on the injected clock
  (call :func:`run_import` again, e.g. from the scheduler, to advance it).
* Passing candidates are tokenized as ``STRAT-<FAMILY>-<ASSET>-<NNN>`` with the configured fixed
  supply, through :func:`core.ledger.tokenize`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress

from backtest import MarketData, PaperTrader, generate, run_many
from backtest import code_hash as agent_code_hash
from backtest.engine import needed_assets, needed_markets
from core.clock import Clock, SimulatedClock
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.errors import ArenaError
from core.ledger import tokenize
from core.models import TreasuryAgent
from core.models.pipeline import CandidateState, StrategyCandidate
from core.spec import load_spec
from parser.result import StrategyParser
from parser.sources.base import RawDocument
from parser.store import (
    candidates_in,
    next_symbol,
    record_parse,
    save_documents,
    trials_so_far,
)

UowFactory = Callable[[], UnitOfWork]
BATCH = 8  # backtests per run_many call (one progress tick each)


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
    n_trials: int = 0
    tokens: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
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
    paper_mode: str = "replay",
    settings: Settings | None = None,
    progress: bool = False,
) -> ImportReport:
    """Run (or resume) the whole pipeline; ``documents=None`` only resumes pending candidates."""
    started = time.perf_counter()
    settings = settings or get_settings()
    parser = parser or default_parser()
    report = ImportReport()
    with Progress(disable=not progress, transient=True) as bars:
        if documents is not None:
            with uow_factory() as uow:
                outcome = save_documents(uow.session, documents, clock.now())
                uow.commit()
            report.new_documents, report.duplicates = outcome.new, outcome.duplicates
        _parse_all(uow_factory, parser, clock, report, bars)
        _implement_all(uow_factory, clock, report)
        _backtest_all(uow_factory, market, clock, settings, paper_mode, executor, report, bars)
        _prove_all(uow_factory, market, clock, settings, paper_mode, report, bars)
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
            uow.commit()
        bars.advance(task)


def _implement_all(uow_factory: UowFactory, clock: Clock, report: ImportReport) -> None:
    with uow_factory() as uow:
        for candidate in candidates_in(uow.session, CandidateState.PARSED):
            now = clock.now()
            try:
                spec = load_spec(candidate.spec or {})
                code = generate(spec)
            except ArenaError as exc:
                _reject(candidate, f"could not implement: {exc}", now)
                report.rejected += 1
                continue
            agent = TreasuryAgent(
                name=spec.name,
                family=spec.family.value,
                spec_version=spec.spec_version,
                spec=candidate.spec or {},
                spec_sha256=candidate.spec_sha256 or "",
                code=code,
                code_sha256=agent_code_hash(code),
                source_url=candidate.document.url,
                backtest_metrics=None,
                paper_metrics=None,
                created_at=now,
            )
            uow.session.add(agent)
            uow.session.flush()
            candidate.agent_id = agent.id
            candidate.state = CandidateState.IMPLEMENTED
            candidate.updated_at = now
            report.implemented += 1
        uow.commit()


def _backtest_end(market: MarketData, spec: Any, paper_days: int, paper_mode: str) -> dt.date | None:
    try:
        _lo, hi = market.span(needed_assets(spec), needed_markets(spec))
    except ArenaError:
        return None
    end = hi - pd.Timedelta(days=paper_days) if paper_mode == "replay" else hi
    return end.date()


def _backtest_all(
    uow_factory: UowFactory,
    market: MarketData,
    clock: Clock,
    settings: Settings,
    paper_mode: str,
    executor: Executor | None,
    report: ImportReport,
    bars: Progress,
) -> None:
    with uow_factory() as uow:
        pending = candidates_in(uow.session, CandidateState.IMPLEMENTED)
        base = trials_so_far(uow.session)
        # Number the trials before running them: a crash mid-batch still counts them as tried.
        for i, candidate in enumerate(c for c in pending if c.trial_number is None):
            candidate.trial_number = base + i + 1
        uow.commit()
        n_trials = trials_so_far(uow.session)
        jobs = [(c.id, load_spec(c.spec or {})) for c in pending]
    report.n_trials = n_trials
    groups: dict[dt.date | None, list[tuple[int, Any]]] = {}
    for cid, spec in jobs:
        groups.setdefault(_backtest_end(market, spec, settings.paper_days, paper_mode), []).append(
            (cid, spec)
        )
    task = bars.add_task("backtest", total=len(jobs))
    for end, members in groups.items():
        for start in range(0, len(members), BATCH):
            batch = members[start : start + BATCH]
            results = run_many(
                [s for _, s in batch],
                market,
                executor,
                end=end.isoformat() if end else None,
                n_trials=n_trials,
                settings=settings,
            )
            with uow_factory() as uow:
                for (cid, _spec), result in zip(batch, results, strict=True):
                    _store_backtest(uow, cid, result, end, clock.now(), report)
                uow.commit()
            bars.advance(task, len(batch))


def _store_backtest(
    uow: UnitOfWork, cid: int, result: Any, end: dt.date | None, now: dt.datetime, report: ImportReport
) -> None:
    candidate = uow.session.get(StrategyCandidate, cid)
    if candidate is None or candidate.state is not CandidateState.IMPLEMENTED:
        return
    metrics = dict(result.metrics)
    metrics["backtest_end"] = end.isoformat() if end else None
    candidate.backtest_metrics = metrics
    candidate.updated_at = now
    if candidate.agent_id is not None:
        agent = uow.session.get(TreasuryAgent, candidate.agent_id)
        if agent is not None:
            agent.backtest_metrics = metrics
    if not getattr(result, "backtestable", True) or end is None:
        reasons = "; ".join(result.gate_reasons) or "no data for this spec"
        _reject(candidate, f"backtest impossible: {reasons}", now)
        report.rejected += 1
        return
    report.backtested += 1
    if result.passed_gate:
        candidate.state = CandidateState.PROVING
        candidate.paper_started_at = now
    else:
        candidate.state = CandidateState.FAILED_GATE
        candidate.reject_reason = ("gate: " + "; ".join(result.gate_reasons))[:1000]
        report.failed_gate += 1


def _prove_all(
    uow_factory: UowFactory,
    market: MarketData,
    clock: Clock,
    settings: Settings,
    paper_mode: str,
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
            status = _paper_status(candidate, market, clock, settings, paper_mode)
            candidate.paper_metrics = status.as_dict()
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
            report.tokens.append(_tokenize(uow_factory, cid, settings, clock))
            report.tokenized += 1
        bars.advance(task)


def _paper_status(
    candidate: StrategyCandidate, market: MarketData, clock: Clock, settings: Settings, paper_mode: str
) -> Any:
    end = dt.date.fromisoformat(str((candidate.backtest_metrics or {})["backtest_end"]))
    paper_clock: Clock = clock
    if paper_mode == "replay":
        # The held-out days are already history: replay them on a simulated clock.
        paper_clock = SimulatedClock(
            dt.datetime.combine(end + dt.timedelta(days=settings.paper_days + 1), dt.time(1), dt.UTC)
        )
    trader = PaperTrader(candidate.spec or {}, market, end, paper_clock, settings=settings)
    trader.advance()
    return trader.status()


def _tokenize(uow_factory: UowFactory, cid: int, settings: Settings, clock: Clock) -> str:
    with uow_factory() as uow:
        candidate = uow.session.get(StrategyCandidate, cid)
        assert candidate is not None and candidate.token_symbol is not None
        symbol, agent_id = candidate.token_symbol, candidate.agent_id
        name = str((candidate.spec or {}).get("name", symbol))[:200]
    created = tokenize(
        uow_factory(),
        agent_id=agent_id,
        symbol=symbol,
        total_supply=settings.default_total_supply,
        idempotency_key=f"import:candidate:{cid}:tokenize",
        name=name,
        status="active",
    )
    with uow_factory() as uow:
        candidate = uow.session.get(StrategyCandidate, cid)
        assert candidate is not None
        if candidate.agent_id is not None:
            agent = uow.session.get(TreasuryAgent, candidate.agent_id)
            if agent is not None:
                agent.paper_metrics = candidate.paper_metrics
        candidate.token_id = created.token_id
        candidate.state = CandidateState.TOKENIZED
        candidate.updated_at = clock.now()
        uow.commit()
    return created.symbol


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
