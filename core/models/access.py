"""Per-user API keys for the REST API (``core.access``).

A key is ``ta_<prefix>_<secret>``: ``prefix`` (8 hex characters, public, shown in listings) finds
the row, ``secret_sha256`` is the SHA-256 of the whole key (the secret has 256 bits of entropy, so a
plain hash is enough; the key itself is never stored). ``last_used_at`` is refreshed at most once a
minute per key. A revoked key keeps its row (``revoked_at``) for the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
