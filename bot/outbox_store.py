"""The database-backed :class:`~bot.outbound.OutboxStore`: messages survive a restart.

Payload format (JSON): ``text``, ``buttons`` (rows of [label, action]), ``attachments`` (filename,
mime type, caption and base64 data), ``ephemeral``.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select

from core.commands.types import Attachment, Button, ChatType, OutboundMessage, Reply
from core.db import Database
from core.models.chat import OutboxMessage


def encode_reply(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.action] for b in row] for row in reply.buttons],
        "attachments": [
            {
                "filename": a.filename,
                "mime_type": a.mime_type,
                "caption": a.caption,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in reply.attachments
        ],
        "ephemeral": reply.ephemeral,
    }


def decode_reply(payload: dict[str, Any]) -> Reply:
    return Reply(
        text=str(payload.get("text", "")),
        buttons=[[Button(label, action) for label, action in row] for row in payload.get("buttons", [])],
        attachments=[
            Attachment(
                a["filename"],
                base64.b64decode(a["data"]),
                a.get("mime_type", "image/png"),
                a.get("caption", ""),
            )
            for a in payload.get("attachments", [])
        ],
        ephemeral=bool(payload.get("ephemeral", False)),
    )


class DatabaseOutbox:
    """Stores each queued message before it is sent; marks it sent or failed afterwards."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message: OutboundMessage) -> int:
        with self.db.uow() as uow:
            row = OutboxMessage(
                platform=message.platform,
                chat_id=message.chat_id,
                chat_type=message.chat_type.value,
                payload=encode_reply(message.reply),
                status="pending",
                created_at=uow.clock.now(),
            )
            uow.session.add(row)
            uow.session.flush()
            message_id = row.id
            uow.commit()
        return message_id

    def _set(self, message_id: int, status: str, error: str | None = None) -> None:
        with self.db.uow() as uow:
            row = uow.session.get(OutboxMessage, message_id)
            if row is not None:
                row.status = status
                row.last_error = error[:500] if error else None
                if status == "sent":
                    row.sent_at = uow.clock.now()
                uow.commit()

    def mark_sent(self, message_id: int) -> None:
        self._set(message_id, "sent")

    def mark_failed(self, message_id: int, reason: str) -> None:
        self._set(message_id, "failed", reason)

    def pending(self) -> list[tuple[int, OutboundMessage]]:
        with self.db.uow(read_only=True) as uow:
            rows = uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id)
            ).all()
            return [
                (r.id, OutboundMessage(r.platform, r.chat_id, decode_reply(r.payload), ChatType(r.chat_type)))
                for r in rows
            ]
