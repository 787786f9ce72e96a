"""Idempotency keys for every mutating service.

Same key + same request -> the stored reply (no second effect). Same key + different request ->
:class:`IdempotencyConflict`. The key row is written in the same database transaction as the
effect, so a request that fails validation (and rolls back) consumes no key. Two concurrent
requests with one key: the loser's insert hits the primary key (or its effect fails on what the
winner wrote, e.g. a token symbol the winner took), its whole transaction rolls back and it returns
the winner's stored reply.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork, is_transient_db_error
from core.errors import IdempotencyConflict, ValidationError
from core.models import IdempotencyKey
from core.money import canonical_text

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 200
R = TypeVar("R")


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return canonical_text(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def request_hash(operation: str, request: dict[str, Any]) -> str:
    payload = json.dumps({"op": operation, "req": _canonical(request)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("an idempotency key is required for every change")
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError(f"idempotency key longer than {MAX_KEY_LENGTH} characters")
    return key


# Core statements, not the ORM: the key row is read once and inserted once per request, and the
# ORM's identity map and unit of work were a measurable share of a trade's CPU.
KEYS = cast(Table, IdempotencyKey.__table__)
_LOOKUP = select(KEYS.c.operation, KEYS.c.request_sha256, KEYS.c.response).where(
    KEYS.c.key == bindparam("key")
)
_INSERT = insert(KEYS)


def _lookup(session: Session, key: str, digest: str) -> dict[str, Any] | None:
    row = session.connection().execute(_LOOKUP, {"key": key}).first()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different request "
            f"({row.operation}); use a new key"
        )
    return dict(row.response)


def stored_response(
    session: Session, key: str, operation: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """The reply stored for ``key`` if this same request already ran (None if the key is unused);
    :class:`IdempotencyConflict` if the key was used for another request. For callers that must
    know before running pre-checks whose outcome a replay must not depend on."""
    return _lookup(session, check_key(key), request_hash(operation, request))


def run_idempotent(
    uow: UnitOfWork,
    key: str,
    operation: str,
    request: dict[str, Any],
    effect: Callable[[Session], dict[str, Any]],
    decode: Callable[[dict[str, Any]], R],
) -> R:
    """Run ``effect`` once per key inside one unit of work and return its (stored) reply."""
    check_key(key)
    digest = request_hash(operation, request)
    try:
        with uow:
            stored = _lookup(uow.session, key, digest)
            if stored is not None:
                return decode(stored)
            response = effect(uow.session)
            # On PostgreSQL a concurrent insert of the same key fails here (after the winner
            # commits), on SQLite the write lock serialises requests so the lookup saw it.
            uow.session.connection().execute(
                _INSERT,
                {
                    "key": key,
                    "operation": operation,
                    "request_sha256": digest,
                    "response": _canonical(response),
                    "created_at": uow.clock.now(),
                },
            )
            uow.commit()
            return decode(_canonical(response))
    except Exception as error:
        if is_transient_db_error(error):
            raise
        return _reply_of_winner(uow, key, digest, operation, error, decode)


def _reply_of_winner(uow: UnitOfWork, key: str, digest: str, operation: str, failure: Exception,
                     decode: Callable[[dict[str, Any]], R]) -> R:
    """The request failed, possibly because it lost a race on the same key: at the key's insert,
    or earlier, when its effect met what the winner wrote (a symbol the winner took, a row it
    created). Return what the winner stored (or its conflict); re-raise ``failure`` when none did."""
    with uow:
        winner = _lookup(uow.session, key, digest)
    if winner is None:
        raise failure
    log.info("%s: request %r lost a race to the same key (%s); returning the stored reply",
             operation, key, type(failure).__name__)
    return decode(winner)
