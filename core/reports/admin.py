"""Platform-admin lists: organisations (the verification queue first), import candidates by state,
scheduler job runs and the audit log with filters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.models import Organisation, OrgStatus, User
from core.models.chat import JobRun
from core.models.ledger import AuditLog
from core.models.pipeline import CandidateState, StrategyCandidate

#: The import pipeline's states in the order a candidate moves through them.
BOARD_ORDER = (CandidateState.DISCOVERED, CandidateState.PARSED, CandidateState.IMPLEMENTED,
               CandidateState.BACKTESTED, CandidateState.PROVING, CandidateState.TOKENIZED,
               CandidateState.FAILED_GATE, CandidateState.REJECTED)


@dataclass(frozen=True, slots=True)
class OrgRow:
    id: int
    name: str
    kind: str
    status: str
    created_at: datetime
    verified_at: datetime | None
    members: int
    admins: list[str]


def organisations(session: Session) -> list[OrgRow]:
    """Pending first (oldest first: the queue), then the others by id."""
    pending_first = case((Organisation.status == OrgStatus.PENDING, 0), else_=1)
    rows = []
    for org in session.scalars(select(Organisation).order_by(pending_first, Organisation.id)):
        admins = [f"{m.platform.value}:{m.platform_user_id}" for m in org.members if m.is_org_admin]
        rows.append(OrgRow(org.id, org.name, org.kind.value, org.status.value, org.created_at,
                           org.verified_at, len(org.members), admins))
    return rows


@dataclass(frozen=True, slots=True)
class CandidateCard:
    id: int
    title: str
    source: str
    family: str | None
    asset: str | None
    parser: str | None
    token_symbol: str | None
    variants: int | None
    reason: str | None
    evidence: list[str]
    updated_at: datetime


def candidate_board(session: Session, per_state: int = 50) -> dict[str, list[CandidateCard]]:
    """State -> newest candidates in it (every state present, in pipeline order)."""
    board: dict[str, list[CandidateCard]] = {s.value: [] for s in BOARD_ORDER}
    counts: dict[str, int] = defaultdict(int)
    for c in session.scalars(select(StrategyCandidate).order_by(StrategyCandidate.id.desc())):
        state = c.state.value
        counts[state] += 1
        if counts[state] > per_state:
            continue
        evidence = [str(e) for e in ((c.spec or {}).get("evidence") or [])][:3]
        board.setdefault(state, []).append(CandidateCard(
            c.id, c.document.title, c.document.source, c.family, c.primary_asset, c.parser, c.token_symbol,
            c.variants, c.reject_reason, evidence, c.updated_at))
    return board


@dataclass(frozen=True, slots=True)
class JobRunRow:
    job_id: str
    scheduled_for: datetime
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    detail: dict[str, Any]


def job_runs(session: Session, *, failures_only: bool = False, limit: int = 100) -> list[JobRunRow]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if failures_only:
        query = query.where(JobRun.status != "done")
    return [JobRunRow(r.job_id, r.scheduled_for, r.status, r.started_at, r.finished_at, r.attempts,
                      dict(r.detail or {})) for r in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of the audit page: ``action`` is a prefix (``org.`` matches ``org.verify``);
    ``actor`` and ``subject`` match exactly. Empty strings mean no filter."""

    action: str = ""
    actor: str = ""
    subject: str = ""
    limit: int = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


def audit_log(session: Session, wanted: AuditFilter) -> list[AuditEntry]:
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, min(wanted.limit, 1000)))
    if wanted.action:
        query = query.where(AuditLog.action.startswith(wanted.action, autoescape=True))
    if wanted.actor:
        query = query.where(AuditLog.actor == wanted.actor)
    if wanted.subject:
        query = query.where(AuditLog.subject == wanted.subject)
    return [AuditEntry(a.id, a.at, a.actor, a.action, a.subject, dict(a.details or {}))
            for a in session.scalars(query)]


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0
