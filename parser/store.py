"""Persistence of the import pipeline: documents (deduplicated), candidates, parse records, symbols.

All functions take an open :class:`core.db.UnitOfWork` (or its session) and never commit; the
pipeline commits after each step so a crash loses at most the step in flight.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from core.db import insert_if_absent
from core.models import StrategyToken
from core.models.pipeline import CandidateState, ParseRecord, SourceDocument, StrategyCandidate
from core.spec import dump_spec, spec_hash
from parser.result import ParseResult
from parser.sources.base import RawDocument


@dataclass(frozen=True)
class SaveOutcome:
    new: int
    duplicates: int


_DOCUMENTS = cast(Table, SourceDocument.__table__)


def save_documents(session: Session, docs: Iterable[RawDocument], now: datetime) -> SaveOutcome:
    """Store new documents (each with a ``discovered`` candidate); skip known URLs/content hashes."""
    new = duplicates = 0
    seen_urls: set[str] = set()
    seen_hashes: set[str] = set()
    for doc in docs:
        digest = doc.content_hash
        url = doc.url[:1000]
        if url in seen_urls or digest in seen_hashes or not doc.text.strip():
            duplicates += 1
            continue
        seen_urls.add(url)
        seen_hashes.add(digest)
        exists = session.scalars(
            select(SourceDocument.id).where(
                or_(SourceDocument.url == url, SourceDocument.content_hash == digest)
            )
        ).first()
        if exists is not None:
            duplicates += 1
            continue
        row = {"source": doc.source[:100], "kind": doc.kind[:20], "url": url, "content_hash": digest,
               "title": doc.title[:500], "text": doc.text, "provenance": dict(doc.provenance),
               "fetched_at": doc.fetched_at, "created_at": now}
        # Two /submit of one text (or a crawl beside them) at once both found none above; the
        # second insert died with a unique violation. Now it waits for the first and skips.
        if not insert_if_absent(session, _DOCUMENTS, row, None):
            duplicates += 1
            continue
        document_id = session.scalars(select(SourceDocument.id).where(SourceDocument.url == url)).one()
        session.add(
            StrategyCandidate(
                document_id=document_id, state=CandidateState.DISCOVERED, created_at=now, updated_at=now
            )
        )
        new += 1
    session.flush()
    return SaveOutcome(new, duplicates)


def candidates_in(session: Session, state: CandidateState) -> list[StrategyCandidate]:
    query = select(StrategyCandidate).where(StrategyCandidate.state == state)
    return list(session.scalars(query.order_by(StrategyCandidate.id)))


def record_parse(
    session: Session, candidate: StrategyCandidate, result: ParseResult, now: datetime, ms: int
) -> None:
    """Append a parse record and move the candidate to ``parsed`` or ``rejected``."""
    usage = result.usage
    session.add(
        ParseRecord(
            candidate_id=candidate.id,
            parser=usage.parser,
            model=usage.model,
            prompt_version=usage.prompt_version,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            attempts=usage.attempts,
            ok=result.ok,
            reason=(result.rejection or "")[:1000] or None,
            result=result.to_json(),
            duration_ms=ms,
            created_at=now,
        )
    )
    candidate.parser = usage.parser
    candidate.confidence = round(result.confidence, 4)
    candidate.unsupported_features = list(result.unsupported_features)
    candidate.updated_at = now
    spec = result.spec
    if spec is None:
        candidate.state = CandidateState.REJECTED
        candidate.reject_reason = (result.rejection or "parser returned no spec")[:1000]
        return
    candidate.spec = json.loads(dump_spec(spec))
    candidate.spec_sha256 = spec_hash(spec)
    candidate.family = spec.family.value
    candidate.primary_asset = primary_asset(candidate.spec)
    if not spec.backtestable:
        features = ", ".join(f.value for f in spec.unsupported_features) or "unsupported"
        candidate.state = CandidateState.REJECTED
        reason = f"not backtestable ({features}): {spec.unsupported_reason or ''}".rstrip(": ")
        candidate.reject_reason = reason[:1000]
    else:
        candidate.state = CandidateState.PARSED


def primary_asset(spec: dict[str, Any]) -> str:
    universe = spec.get("universe") or {}
    assets = universe.get("assets") or []
    if assets:
        return str(assets[0])
    markets = universe.get("lending_markets") or (spec.get("yield_rotation") or {}).get("markets") or []
    if markets:
        return str(markets[0]).split(":")[1]
    return "MULTI"


def trials_so_far(session: Session) -> int:
    """How many candidates have ever been sent to a backtest (the deflated Sharpe's N)."""
    count = session.scalar(select(func.count()).where(StrategyCandidate.trial_number.is_not(None)))
    return int(count or 0)


def next_symbol(session: Session, family: str, asset: str) -> str:
    """``STRAT-<FAMILY>-<ASSET>-<NNN>``; NNN counts tokens already issued with that prefix."""
    fam = re.sub(r"[^A-Z0-9]", "", family.upper())[:16] or "OTHER"
    sym = re.sub(r"[^A-Z0-9]", "", asset.upper())[:10] or "MULTI"
    prefix = f"STRAT-{fam}-{sym}-"
    # Count symbols already issued *and* symbols reserved by candidates still being tokenized.
    issued = set(session.scalars(select(StrategyToken.symbol).where(StrategyToken.symbol.like(prefix + "%"))))
    reserved = set(
        session.scalars(
            select(StrategyCandidate.token_symbol).where(StrategyCandidate.token_symbol.like(prefix + "%"))
        )
    )
    return f"{prefix}{len(issued | reserved) + 1:03d}"
