"""Import-pipeline tables: raw documents with provenance, candidates and states, parse records.

* :class:`SourceDocument` is scraped text, stored verbatim (never executed). Unique by ``url`` and
  by ``content_hash`` (SHA-256 of the whitespace-normalised, case-folded text), so a re-run or the
  same text under another URL never creates a second row.
* :class:`StrategyCandidate` is one document's journey through the pipeline; ``state`` is one of
  :class:`CandidateState` and is persisted after every step so a re-run resumes where it stopped.
  One candidate per document. ``trial_number`` is the 1-based order in which candidates reached the
  backtest: the deflated Sharpe ratio counts every trial made so far.
* :class:`ParseRecord` is one parser invocation: parser kind, model, prompt version hash, token
  usage, attempts (LLM validation retries), outcome. Appended, never updated.
* :class:`StrategyTrial` is one variant of a candidate's text (issue 9): its spec, and once
  screened its result on the common window. Every trial that ran counts in the deflated Sharpe
  ratio's N (per text and overall); ``number`` is its 1-based order among all trials ever run.
  The candidate keeps the gate report (``gate_report``: named checks with their numbers, trial
  counts, risk-free rate, walk-forward windows, PBO) and how it is proved (``paper_mode``:
  ``forward`` on data as it arrives, or ``replay`` on held-out history).

Times are aware UTC (``UTCDateTime``); ``confidence`` is a plain probability in [0, 1] (not money).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, enum_column


class CandidateState(enum.StrEnum):
    DISCOVERED = "discovered"
    PARSED = "parsed"
    REJECTED = "rejected"
    IMPLEMENTED = "implemented"
    BACKTESTED = "backtested"
    FAILED_GATE = "failed_gate"
    PROVING = "proving"
    TOKENIZED = "tokenized"


#: States after which a candidate never moves again.
TERMINAL_STATES = frozenset(
    {CandidateState.REJECTED, CandidateState.FAILED_GATE, CandidateState.TOKENIZED}
)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return enum_column(cls, name, 20)


class SourceDocument(Base):
    __tablename__ = "raw_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(
        String(100), index=True
    )  # registry name / url / file / discord
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]
    created_at: Mapped[datetime]


class StrategyCandidate(Base):
    __tablename__ = "strategy_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("raw_documents.id"), unique=True)
    state: Mapped[CandidateState] = mapped_column(
        _enum(CandidateState, "candidate_state"), index=True
    )
    reject_reason: Mapped[str | None] = mapped_column(String(1000))
    parser: Mapped[str | None] = mapped_column(String(20))  # offline | llm
    confidence: Mapped[float | None] = mapped_column(Float)
    family: Mapped[str | None] = mapped_column(String(40))
    primary_asset: Mapped[str | None] = mapped_column(String(20))
    spec: Mapped[dict[str, Any] | None]
    spec_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    unsupported_features: Mapped[list[Any] | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("treasury_agents.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("strategy_tokens.id"))
    token_symbol: Mapped[str | None] = mapped_column(String(64))
    trial_number: Mapped[int | None] = mapped_column(Integer)
    backtest_metrics: Mapped[dict[str, Any] | None]
    paper_started_at: Mapped[datetime | None]
    paper_metrics: Mapped[dict[str, Any] | None]
    variants: Mapped[int | None] = mapped_column(Integer)
    gate_report: Mapped[dict[str, Any] | None]
    paper_mode: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    document: Mapped[SourceDocument] = relationship()


class StrategyTrial(Base):
    __tablename__ = "strategy_trials"
    __table_args__ = (UniqueConstraint("candidate_id", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("strategy_candidates.id"), index=True)
    variant: Mapped[int] = mapped_column(Integer)  # 0-based within the candidate
    label: Mapped[str] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]]
    spec_sha256: Mapped[str] = mapped_column(String(64))
    number: Mapped[int | None] = mapped_column(Integer, unique=True)  # order among all trials run
    engine: Mapped[str | None] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any] | None]  # sharpe (annual, excess), sharpe_per_day, return, drawdown
    error: Mapped[str | None] = mapped_column(String(1000))
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    backtested_at: Mapped[datetime | None]


class ParseRecord(Base):
    __tablename__ = "parse_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("strategy_candidates.id"), index=True)
    parser: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(64))  # sha256 of the prompt templates
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    ok: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(1000))
    result: Mapped[dict[str, Any]]
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
