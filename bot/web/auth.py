"""The API's gate: Bearer API keys, per-key rate limits and the permission table.

Every API route depends on exactly one :class:`Gate` naming a row of the permission table
(``core.commands.permissions.lookup``): the key's user is resolved to their effective role exactly as
for a chat message (the API counts as a private chat) and :func:`core.commands.permissions.allowed`
decides. A gate naming no row fails at import time, and ``tests/web/test_routes_table.py`` checks
every route has one. Public gates (read-only browsing) also admit callers without a key, as visitors.
Rate limits use the ``limits`` library (moving window, in process memory: each worker counts its
own requests); a refusal is 429 with ``Retry-After`` in whole seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bot.web.problems import Problem
from core.access import Principal, lookup_in, touch
from core.commands.context import Ctx, Hooks
from core.commands.permissions import Permission, allowed, denial, lookup
from core.commands.types import ChatType, Identity
from core.compliance.identity import resolve
from core.config import Settings
from core.db import Database
from core.models.compliance import Role, User
from core.notify import Notifier

bearer = HTTPBearer(
    auto_error=False,
    description="A per-user API key: `/apikey create` in a private "
    "chat with the bot, or `arena apikey create --user PLATFORM:ID`.",
)
MAX_IDEMPOTENCY_KEY = 100


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: ``principal`` is None for an anonymous caller of a public route."""

    principal: Principal | None
    role: Role
    permission: Permission

    @property
    def identity(self) -> Identity:
        p = self.principal
        if p is None:
            return Identity("rest", 0, 0, ChatType.PRIVATE, "anonymous")
        return Identity(p.platform, p.platform_user_id, p.platform_user_id, ChatType.PRIVATE, "api")


class RateLimiter:
    """One moving-window limit per key (or per client address for anonymous callers)."""

    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, who: str) -> None:
        if self.limiter.hit(self.item, who):
            return
        reset = self.limiter.get_window_stats(self.item, who).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise Problem(
            429,
            f"Rate limit of {self.item} exceeded; retry in {retry} s.",
            code="rate_limited",
            headers={"Retry-After": str(retry)},
        )


class Gate:
    """A route's permission: ``Depends(Gate("buy"))`` returns the :class:`Caller`."""

    def __init__(self, name: str, *, public: bool = False) -> None:
        permission = lookup(name)
        if permission is None:
            raise RuntimeError(f"route permission {name!r} is not in the permission table")
        if public and permission.min_role is not Role.VISITOR:
            raise RuntimeError(f"route permission {name!r} is not for visitors; it cannot be public")
        self.name, self.public, self.permission = name, public, permission

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Caller:
        """Anonymous callers are answered on the event loop (no database); a key is checked in the
        thread pool (it reads the database)."""
        if credentials is None:
            if not self.public:
                raise Problem(
                    401,
                    "An API key is required: send Authorization: Bearer KEY.",
                    code="unauthenticated",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            client = request.client.host if request.client else "unknown"
            request.app.state.limiter.check(f"ip:{client}")
            return Caller(None, Role.VISITOR, self.permission)
        return await run_in_threadpool(self._keyed, request, credentials.credentials)

    def _keyed(self, request: Request, key: str) -> Caller:
        state = request.app.state
        with state.db.uow(read_only=True) as uow:  # the key and the role in one read
            found = lookup_in(uow.session, key)
            if found is not None:
                principal = found[0]
                _user, role = resolve(
                    uow.session, state.settings, principal.platform, principal.platform_user_id
                )
        if found is None:
            raise Problem(
                401,
                "That API key is not valid (unknown, malformed or revoked).",
                code="unauthenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        state.limiter.check(f"key:{principal.key_id}")
        touch(state.db, principal.key_id, found[1])
        if not allowed(role, ChatType.PRIVATE, self.permission):
            raise Problem(403, denial(role, ChatType.PRIVATE, self.permission), code="permission_denied")
        return Caller(principal, role, self.permission)


KEY_HELP = (
    "Required on requests that move money: the same key and body return the stored response; "
    "another body, 409."
)


def _checked_key(key: str | None) -> str:
    """The request's ``Idempotency-Key`` header (required; 1-100 printable characters)."""
    if key is None or not key.strip():
        raise Problem(
            400,
            "This request moves money: send an Idempotency-Key header (any unique string).",
            code="idempotency_key_missing",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise Problem(
            400,
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters.",
            code="idempotency_key_invalid",
        )
    return key.strip()


async def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key", description=KEY_HELP)] = None,
) -> str:
    """The required ``Idempotency-Key``: checked on the event loop (no thread hop; no I/O)."""
    return _checked_key(key)


async def optional_key(key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> str | None:
    """An optional ``Idempotency-Key`` (non-money changes; one is generated when absent)."""
    return _checked_key(key) if key is not None else None


@contextmanager
def caller_ctx(request: Request, caller: Caller) -> Iterator[Ctx]:
    """A command context for the caller over a read-only session; messages the operation queued for
    other chats are handed to the app's notifier once it returns."""
    state = request.app.state
    db: Database = state.db
    settings: Settings = state.settings
    identity = caller.identity
    with db.uow(read_only=True) as uow:
        # the role the gate resolved and checked (not resolved again); the user row by primary key
        user = None if caller.principal is None else uow.session.get(User, caller.principal.user_id)
        ctx = Ctx(db, uow.session, settings, identity, user, caller.role, state.hooks)
        yield ctx
    notifier: Notifier | None = state.notifier
    if notifier is not None:
        for message in ctx.outbox:
            notifier.notify(message)


__all__ = ["Caller", "Gate", "Hooks", "RateLimiter", "caller_ctx", "idempotency_key", "optional_key"]
