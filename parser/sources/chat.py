"""Messages forwarded from chat channels the bot was added to (the Discord adapter calls this).

No network here: the adapter already holds the message. Identity is the numeric platform id, never
a username. The message's jump URL (or a synthetic ``discord://`` URL) is the document URL, so the
same message forwarded twice is deduplicated."""

from __future__ import annotations

from datetime import datetime

from core.clock import ensure_utc
from parser.sources.base import RawDocument, clip

MIN_MESSAGE_CHARS = 40  # shorter messages cannot describe a strategy


def ingest_discord_message(
    *,
    guild_id: int,
    channel_id: int,
    message_id: int,
    author_id: int,
    content: str,
    created_at: datetime,
    jump_url: str | None = None,
    channel_name: str = "",
) -> RawDocument | None:
    """Turn one forwarded Discord message into a raw document, or ``None`` if it is too short.

    The caller persists it with :func:`parser.store.save_documents` (or hands it to
    :func:`parser.pipeline.run_import`).
    """
    text = content.strip()
    if len(text) < MIN_MESSAGE_CHARS:
        return None
    url = jump_url or f"discord://{guild_id}/{channel_id}/{message_id}"
    first_line = text.splitlines()[0][:200]
    return RawDocument(
        source="discord",
        kind="discord",
        url=url,
        title=first_line,
        text=clip(text),
        fetched_at=ensure_utc(created_at),
        provenance={
            "guild_id": str(guild_id),
            "channel_id": str(channel_id),
            "channel_name": channel_name,
            "message_id": str(message_id),
            "author_id": str(author_id),
        },
    )
