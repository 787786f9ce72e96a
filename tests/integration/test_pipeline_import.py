"""The import pipeline on a real SQLite file: end to end, resume after a crash, no duplicates, N trials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backtest import MarketData, load_market
from core.clock import SimulatedClock
from core.db import Database
from core.migrations import upgrade
from core.models import StrategyToken
from core.models.pipeline import CandidateState, ParseRecord, SourceDocument, StrategyCandidate
from parser.offline import OfflineParser
from parser.pipeline import example_documents, run_import
from parser.result import ParseResult
from parser.sources import load_jsonl

NOW = dt.datetime(2026, 1, 8, 12, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pipeline.db'}", clock=SimulatedClock(NOW))
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def market(shared_data_dir: Path) -> MarketData:
    return load_market(shared_data_dir)


def _count(db: Database, model: type) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _states(db: Database) -> dict[str, str]:
    with db.uow(read_only=True) as uow:
        return {c.document.url: c.state.value for c in uow.session.scalars(select(StrategyCandidate))}


def test_examples_end_to_end_and_rerun_never_duplicates(db: Database, market: MarketData) -> None:
    clock = SimulatedClock(NOW)
    docs = example_documents(NOW)
    report = run_import(db.uow, docs, market, clock=clock, parser=OfflineParser())
    assert report.new_documents == len(docs) and report.parsed == len(docs)
    assert report.n_trials == len(docs), "every backtested candidate is a counted trial"
    assert report.tokenized >= 1 and all(s.startswith("STRAT-") for s in report.tokens)
    assert "STRAT-YIELDROTATION-USDC-001" in report.tokens
    states = _states(db)
    assert set(states.values()) <= {"tokenized", "failed_gate", "rejected"}
    with db.uow(read_only=True) as uow:
        tokens = list(uow.session.scalars(select(StrategyToken)))
        assert {t.symbol for t in tokens} == set(report.tokens)
        assert all(t.total_supply > 0 and t.agent_id is not None for t in tokens)
        tokenized = uow.session.scalars(
            select(StrategyCandidate).where(StrategyCandidate.state == CandidateState.TOKENIZED)
        ).all()
        assert all(c.paper_metrics and c.paper_metrics["days"] == 30 for c in tokenized)
        dsr = [c.backtest_metrics["dsr"] for c in tokenized if c.backtest_metrics]
        assert dsr and all(0 <= d <= 1 for d in dsr)
    again = run_import(db.uow, docs, market, clock=clock, parser=OfflineParser())
    assert again.new_documents == 0 and again.duplicates == len(docs) and again.tokens == []
    assert _count(db, SourceDocument) == len(docs) and _count(db, ParseRecord) == len(docs)
    assert _count(db, StrategyToken) == len(report.tokens)


class CrashingParser(OfflineParser):
    """Simulates a crash (e.g. the process is killed) after ``limit`` parses."""

    def __init__(self, limit: int) -> None:
        self.calls = 0
        self.limit = limit

    def parse(self, text: str, *, title: str = "", source_ref: str | None = None) -> ParseResult:
        self.calls += 1
        if self.calls > self.limit:
            raise KeyboardInterrupt("simulated crash")
        return super().parse(text, title=title, source_ref=source_ref)


def test_shared_texts_resume_after_crash(db: Database, market: MarketData, shared_data_dir: Path) -> None:
    clock = SimulatedClock(NOW)
    docs = load_jsonl(shared_data_dir / "strategy_texts.jsonl", NOW)
    with pytest.raises(KeyboardInterrupt):
        run_import(db.uow, docs, market, clock=clock, parser=CrashingParser(limit=10))
    assert _count(db, ParseRecord) == 10
    assert list(_states(db).values()).count("discovered") == 32
    report = run_import(db.uow, None, market, clock=clock, parser=OfflineParser())
    assert report.parsed + report.rejected >= 32
    assert _count(db, ParseRecord) == 42, "each document parsed exactly once across both runs"
    states = _states(db)
    assert "discovered" not in states.values() and "parsed" not in states.values()
    with db.uow(read_only=True) as uow:
        trials = sorted(
            n for n in uow.session.scalars(select(StrategyCandidate.trial_number)) if n is not None
        )
        reasons = list(
            uow.session.scalars(
                select(StrategyCandidate.reject_reason).where(
                    StrategyCandidate.state == CandidateState.REJECTED
                )
            )
        )
    assert trials == list(range(1, len(trials) + 1)) and len(trials) >= 3
    assert reasons and all(reasons)
