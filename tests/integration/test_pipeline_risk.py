"""``arena import`` with issue 15's risk-managed versions (real SQLite file, real shared data): the
report shows the variants as written and the risk-managed ones side by side, each with its gate
checks; every one of them is a counted trial; switched off, the report is as before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backtest import MarketData, load_market
from core.clock import SimulatedClock
from core.config import Settings
from core.db import Database
from core.migrations import upgrade
from core.models.pipeline import StrategyTrial
from parser.offline import OfflineParser
from parser.pipeline import example_documents, run_import
from parser.risk_variants import is_risk_managed

NOW = dt.datetime(2026, 1, 8, 12, tzinfo=dt.UTC)
CHECKS = ["history", "excess_sharpe", "max_drawdown", "deflated_sharpe", "walk_forward", "overfitting"]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pipeline.db'}", clock=SimulatedClock(NOW))
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def market(shared_data_dir: Path) -> MarketData:
    return load_market(shared_data_dir)


def eth_trend() -> list:
    return [d for d in example_documents(NOW) if d.url.endswith("eth_trend.txt")]


def test_risk_managed_variants_are_reported_beside_the_written_ones(db: Database, market: MarketData) -> None:
    settings = Settings(max_variants_per_text=24)
    report = run_import(db.uow, eth_trend(), market, clock=SimulatedClock(NOW), parser=OfflineParser(),
                        paper_mode="replay", settings=settings)  # fmt: skip
    (text,) = report.texts
    groups = text["groups"]
    assert set(groups) == {"as_written", "risk_managed"}
    for group in groups.values():
        assert [c["name"] for c in group["checks"]] == CHECKS
        assert group["trials"] >= 1 and isinstance(group["passed"], bool)
    assert is_risk_managed(groups["risk_managed"]["best_variant"])
    assert not is_risk_managed(groups["as_written"]["best_variant"])
    assert sum(g["chosen"] for g in groups.values()) == 1
    with db.uow(read_only=True) as uow:
        ran = [t.label for t in uow.session.scalars(select(StrategyTrial)) if t.number is not None]
    assert report.n_trials == len(ran) == text["trials_text"]  # every version is a counted trial
    assert groups["as_written"]["trials"] + groups["risk_managed"]["trials"] == len(ran)
    assert sum(is_risk_managed(label) for label in ran) == groups["risk_managed"]["trials"]
    # the deflated Sharpe of each group counts every trial of the text, not only its own
    dsr = {g: next(c for c in groups[g]["checks"] if c["name"] == "deflated_sharpe") for g in groups}
    for check in dsr.values():
        assert f"with {len(ran)} trial(s) overall" in check["detail"]
        assert f"this text's {len(ran)} variant(s)" in check["detail"]


def test_switched_off_there_is_no_second_group(db: Database, market: MarketData) -> None:
    settings = Settings(max_variants_per_text=24, import_risk_variants=False)
    report = run_import(db.uow, eth_trend(), market, clock=SimulatedClock(NOW), parser=OfflineParser(),
                        paper_mode="replay", settings=settings)  # fmt: skip
    (text,) = report.texts
    assert text["groups"] is None and text["checks"]
    with db.uow(read_only=True) as uow:
        assert not any(is_risk_managed(t.label) for t in uow.session.scalars(select(StrategyTrial)))
