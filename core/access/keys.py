"""Per-user API keys: created once (the plain key is returned once and never stored), stored as the
SHA-256 of the key, listed with their last use, revoked. A key acts as its user: the REST API
resolves the user's platform identity and effective role exactly as a chat message would.

Key format: ``ta_<prefix>_<secret>`` with an 8-hex-character public prefix and a 43-character
URL-safe secret (``secrets.token_urlsafe(32)``: 256 bits), so a plain SHA-256 is a sufficient hash
(no password stretching is needed for a random secret of that size).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import Clock
from core.compliance.identity import console_user_id, find_user, get_or_create_user
from core.db import Database
from core.errors import NotFound, ValidationError
from core.models.access import ApiKey
from core.models.compliance import Platform, User
from core.models.ledger import AuditLog

KEY_PREFIX = "ta_"
#: Refresh ``last_used_at`` at most this often per key (a write per request would serialise reads).
LAST_USED_GRANULARITY = timedelta(minutes=1)
MAX_LABEL = 80
MAX_ACTIVE_KEYS = 10


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``key`` is shown to its owner once and never again."""

    key_id: int
    prefix: str
    key: str
    label: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a listing shows (never the key)."""

    key_id: int
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated request acts as: the key and its user's platform identity."""

    key_id: int
    user_id: int
    platform: str
    platform_user_id: int


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_user_ref(text: str) -> tuple[str, int]:
    """The CLI's ``--user``: ``telegram:12345`` -> ("telegram", 12345); a console user may be named
    as in ``arena chat --user NAME`` (``console:alice``). One clear line for anything else."""
    platform, _, number = text.strip().partition(":")
    platform, number = platform.strip().lower(), number.strip()
    names = ", ".join(p.value for p in Platform if p is not Platform.SYSTEM)
    if platform not in names.split(", "):
        raise ValidationError(f"--user must be PLATFORM:ID with PLATFORM one of {names}, "
                              "e.g. telegram:12345 or console:alice")
    if platform == Platform.CONSOLE.value and number and not number.isdigit():
        return platform, console_user_id(number)
    if not number.isdigit():
        raise ValidationError(f"--user {platform}:ID needs the numeric {platform} user id, e.g. "
                              f"{platform}:12345")
    return platform, int(number)


def _audit(session: Session, now: datetime, user: User, action: str, key_id: int) -> None:
    session.add(AuditLog(at=now, actor=f"user:{user.id}", action=action, subject=f"api_key:{key_id}",
                         details=None))


def create_in(session: Session, clock: Clock, platform: str, platform_user_id: int, label: str = "",
              display_name: str = "") -> CreatedKey:
    """Create a key for the user (a visitor row is created for an identity never seen)."""
    label = " ".join(label.split())
    if len(label) > MAX_LABEL:
        raise ValidationError(f"a key label is at most {MAX_LABEL} characters")
    user = get_or_create_user(session, platform, platform_user_id, display_name, clock)
    active = session.scalars(select(ApiKey.id).where(ApiKey.user_id == user.id,
                                                     ApiKey.revoked_at.is_(None))).all()
    if len(active) >= MAX_ACTIVE_KEYS:
        raise ValidationError(f"you already have {MAX_ACTIVE_KEYS} active API keys; revoke one first")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    row = ApiKey(user_id=user.id, prefix=prefix, secret_sha256=hash_key(key), label=label, created_at=now)
    session.add(row)
    session.flush()
    _audit(session, now, user, "apikey.create", row.id)
    return CreatedKey(row.id, prefix, key, label, now)


def list_in(session: Session, platform: str, platform_user_id: int) -> list[KeyInfo]:
    """The user's keys, newest first (revoked ones included, marked)."""
    user = find_user(session, platform, platform_user_id)
    if user is None:
        return []
    rows = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id.desc()))
    return [KeyInfo(r.id, r.prefix, r.label, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_in(session: Session, clock: Clock, platform: str, platform_user_id: int, key_id: int) -> bool:
    """Revoke one of the user's own keys; False when it was already revoked. Someone else's key
    reads exactly like a missing one."""
    user = find_user(session, platform, platform_user_id)
    row = session.get(ApiKey, key_id) if user is not None else None
    if user is None or row is None or row.user_id != user.id:
        raise NotFound(f"You have no API key #{key_id}; /apikey list shows yours.")
    if row.revoked_at is not None:
        return False
    row.revoked_at = clock.now()
    _audit(session, row.revoked_at, user, "apikey.revoke", row.id)
    return True


def lookup_in(session: Session, key: str) -> tuple[Principal, datetime | None] | None:
    """The principal for a presented key and when it was last used, or None (unknown, malformed
    or revoked). The hash is compared in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    prefix = key[len(KEY_PREFIX):].partition("_")[0]
    row = session.execute(
        select(ApiKey.id, ApiKey.secret_sha256, ApiKey.revoked_at, ApiKey.last_used_at, User.id,
               User.platform, User.platform_user_id)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None or row[2] is not None or not hmac.compare_digest(row[1], hash_key(key)):
        return None
    return Principal(row[0], row[4], Platform(row[5]).value, row[6]), row[3]


def touch(db: Database, key_id: int, last_used: datetime | None) -> None:
    """Record a use of the key, at most once per :data:`LAST_USED_GRANULARITY`."""
    now = db.clock.now()
    if last_used is None or now - last_used >= LAST_USED_GRANULARITY:
        with db.uow() as uow:
            uow.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            uow.commit()


def authenticate(db: Database, key: str) -> Principal | None:
    """:func:`lookup_in` in its own read, then :func:`touch`."""
    with db.uow(read_only=True) as uow:
        found = lookup_in(uow.session, key)
    if found is None:
        return None
    touch(db, found[0].key_id, found[1])
    return found[0]
