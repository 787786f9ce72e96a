"""Rendering a :class:`Reply` on Discord, and the outbound-queue sender.

Buttons are ``discord.ui.View`` buttons whose ``custom_id`` is ``arena:<action>``; presses reach
the adapter through ``on_interaction`` (so they survive restarts without persistent views).
Text is split below 2,000 characters; charts are attached files; mentions are disabled.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import discord

from bot.outbound import PART_NONCE, PermanentSendError, RetryAfter
from bot.text_split import split_discord
from core.commands.types import ChatType, Reply

BUTTON_PREFIX = "arena:"
NO_MENTIONS = discord.AllowedMentions.none()


def view_for(reply: Reply) -> discord.ui.View | None:
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for row_index, row in enumerate(reply.buttons[:5]):
        for button in row[:5]:
            style = (
                discord.ButtonStyle.danger
                if button.label in ("Cancel", "Reject")
                else discord.ButtonStyle.primary
            )
            view.add_item(
                discord.ui.Button(
                    label=button.label[:80],
                    custom_id=(BUTTON_PREFIX + button.action)[:100],
                    style=style,
                    row=row_index,
                )
            )
    return view


def files_for(reply: Reply) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(a.data), filename=a.filename, description=a.caption[:1000] or None)
        for a in reply.attachments
    ]


def chunks_for(reply: Reply) -> list[str]:
    return split_discord(reply.text) if reply.text else [""]


async def send_to_interaction(interaction: discord.Interaction, reply: Reply) -> None:
    """First chunk as the interaction response (or follow-up after a defer), the rest as follow-ups."""
    chunks = chunks_for(reply)
    view = view_for(reply)
    for i, chunk in enumerate(chunks):
        files = files_for(reply) if i == 0 else []
        chunk_view = view if i == len(chunks) - 1 else None
        if i == 0 and not interaction.response.is_done():
            send = interaction.response.send_message
            if chunk_view is not None:
                await send(
                    chunk or None,
                    files=files,
                    view=chunk_view,
                    ephemeral=reply.ephemeral,
                    allowed_mentions=NO_MENTIONS,
                )
            else:
                await send(
                    chunk or None, files=files, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
                )
        elif chunk_view is not None:
            await interaction.followup.send(
                chunk or "\u200b",
                files=files,
                view=chunk_view,
                ephemeral=reply.ephemeral,
                allowed_mentions=NO_MENTIONS,
            )
        else:
            await interaction.followup.send(
                chunk or "\u200b", files=files, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
            )


async def send_to_channel(channel: discord.abc.Messageable, reply: Reply, nonce: str | None = None) -> None:
    """``reply`` as messages in ``channel``: files on the first part, buttons on the last; with
    ``nonce``, part ``i`` carries ``nonce + i`` (Discord then drops a copy sent twice)."""
    chunks = chunks_for(reply)
    view = view_for(reply)
    for i, chunk in enumerate(chunks):
        extra: dict[str, Any] = {"files": files_for(reply) if i == 0 else []}
        if i == len(chunks) - 1 and view is not None:
            extra["view"] = view
        if nonce is not None:
            extra["nonce"] = f"{nonce}{i}"
        await channel.send(chunk or None, allowed_mentions=NO_MENTIONS, **extra)


class DiscordSender:
    """:class:`bot.outbound.Sender` for Discord channels and DMs (``chat_id`` is a channel id)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def parts(self, reply: Reply) -> list[Reply]:
        """The separate Discord messages of ``reply`` (files on the first chunk, buttons on the
        last), so the outbox can record each one and resume a split message where it stopped."""
        chunks = chunks_for(reply)
        last = len(chunks) - 1
        return [
            Reply(
                c,
                buttons=reply.buttons if i == last else [],
                attachments=reply.attachments if i == 0 else [],
            )
            for i, c in enumerate(chunks)
        ]

    async def send(self, chat_id: int, chat_type: ChatType, reply: Reply) -> None:
        try:
            channel = self.client.get_channel(chat_id) or await self.client.fetch_channel(chat_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise PermanentSendError(f"channel {chat_id} cannot receive messages")
            # The outbox's part id as an enforced nonce: Discord drops a copy resent after a crash.
            await send_to_channel(channel, reply, PART_NONCE.get() or uuid.uuid4().hex[:22])
        except discord.RateLimited as exc:
            raise RetryAfter(exc.retry_after) from exc
        except (discord.Forbidden, discord.NotFound) as exc:
            raise PermanentSendError(f"{type(exc).__name__}: {exc.text}") from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                raise RetryAfter(_retry_after(exc)) from exc
            raise


def _retry_after(exc: discord.HTTPException, default: float = 5.0) -> float:
    """Seconds Discord asked us to wait (its Retry-After header), else a cautious default."""
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return max(float(header), 0.0) if header is not None else default
    except ValueError:
        return default
