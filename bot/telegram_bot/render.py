"""Rendering a :class:`Reply` on Telegram, and the outbound-queue sender.

Plain text only (no parse mode, so names users typed can never inject markup); chunks below 4,096
UTF-16 units with the inline keyboard on the last chunk; charts as photos first.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.outbound import PermanentSendError, RetryAfter
from bot.text_split import split_telegram
from core.commands.types import ChatType, Reply

CAPTION_LIMIT = 1024


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in reply.buttons]
    )


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> None:
    """Send photos, then the text in chunks; buttons ride on the last chunk."""
    for attachment in reply.attachments:
        caption = attachment.caption[:CAPTION_LIMIT] or None
        if attachment.mime_type.startswith("image/"):
            await bot.send_photo(chat_id, photo=attachment.data, caption=caption)
        else:  # e.g. a proof of liabilities (JSON): a document keeps its name and bytes
            await bot.send_document(
                chat_id, document=InputFile(attachment.data, filename=attachment.filename), caption=caption
            )
    chunks = split_telegram(reply.text) if reply.text else []
    markup = keyboard(reply)
    for i, chunk in enumerate(chunks):
        await bot.send_message(chat_id, chunk, reply_markup=markup if i == len(chunks) - 1 else None)


def _seconds(exc: TelegramRetryAfter) -> float:
    """Seconds to wait; PTB 22 returns an int (or a timedelta with PTB_TIMEDELTA=1) and warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """:class:`bot.outbound.Sender` for Telegram: maps flood control and dead chats."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def parts(self, reply: Reply) -> list[Reply]:
        """The separate Telegram messages of ``reply`` (photos, then text chunks; buttons on the
        last chunk), so the outbox can record each one and resume a split message where it stopped."""
        photos = [Reply("", attachments=[a]) for a in reply.attachments]
        chunks = split_telegram(reply.text) if reply.text else []
        last = len(chunks) - 1
        texts = [Reply(c, buttons=reply.buttons if i == last else []) for i, c in enumerate(chunks)]
        return photos + texts

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None:
        try:
            await send_reply(self.bot, chat_id, reply)
        except TelegramRetryAfter as exc:
            raise RetryAfter(_seconds(exc)) from exc
        except Forbidden as exc:
            raise PermanentSendError(f"forbidden: {exc.message}") from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise PermanentSendError(exc.message) from exc
            raise
