"""The Discord adapter: slash commands generated from the permission table, one global gate.

* ``ArenaTree.interaction_check`` is the deny-by-default gate for slash commands; button presses
  (``arena:<action>`` custom ids) and modal answers pass the same gate in :meth:`on_interaction`.
* Each slash command takes one optional free-text ``arguments`` option (the same words as the
  console and Telegram). Slow commands ``defer()`` before the work; others answer directly.
* When a reply asks for free text (``Reply.expect``), Discord shows a modal instead of waiting for a
  message (no message-content intent needed).
* A direct message to the bot is handled as Telegram handles a private message, through the same
  :meth:`CommandLayer.handle_line`: ``/command args`` typed as text runs the command (same gate),
  an answer to a question the last reply asked completes it, anything else gets the short menu with
  buttons. Messages in server channels are chatter, not for the bot; edits never run anything.
  Discord delivers the content of direct messages without the privileged message-content intent.

Idempotency key: ``dc:<interaction id>`` (Discord redelivers the same interaction id).
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from typing import Any

import discord
from discord import app_commands

from bot.discord_bot.render import BUTTON_PREFIX, send_to_channel, send_to_interaction
from bot.redaction import redact, secret_values
from core.commands.dispatcher import APOLOGY, CommandLayer
from core.commands.parsing import parse_line
from core.commands.permissions import PERMISSIONS
from core.commands.types import ChatType, Command, Identity, Reply
from core.errors import ArenaError
from core.formatting import sentence

log = logging.getLogger(__name__)
PLATFORM = "discord"
MODAL_PREFIX = "arena-modal:"
STEP_PREFIX = re.compile(r"^Step \d+ of \d+: ")


def identity_of(interaction: discord.Interaction) -> Identity | None:
    if interaction.user.bot or interaction.channel_id is None:
        return None
    chat_type = ChatType.PRIVATE if interaction.guild_id is None else ChatType.GROUP
    return Identity(
        PLATFORM, interaction.user.id, interaction.channel_id, chat_type, interaction.user.display_name
    )


class AnswerModal(discord.ui.Modal):
    """Asks for the free text a reply expects (e.g. the organisation's name)."""

    def __init__(self, adapter: DiscordAdapter, expect: str, prompt: str) -> None:
        super().__init__(title="Treasury Arena", custom_id=(MODAL_PREFIX + expect)[:100], timeout=None)
        self.adapter = adapter
        self.expect = expect
        self.answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
            custom_id="value", max_length=200
        )
        question = prompt.split("?", 1)[0] + "?" if "?" in prompt else prompt
        question = STEP_PREFIX.sub("", question)  # "Step 6 of 6: what is ...?" -> "What is ...?"
        question = question[:1].upper() + question[1:]
        self.add_item(
            discord.ui.Label(text=question if len(question) <= 45 else "Your answer", component=self.answer)
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Send ``<expect> <answer>`` through the command layer."""
        await self.adapter.run_line(interaction, f"/{self.expect} {self.answer.value}", via_button=True)


class ArenaTree(app_commands.CommandTree):
    """The command tree whose ``interaction_check`` is the global gate."""

    adapter: DiscordAdapter

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Deny by default: unknown users, bots and refused roles never reach a command."""
        name = interaction.command.name if interaction.command is not None else ""
        return await self.adapter.allowed(interaction, name, via_button=False)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await self.adapter.on_error(interaction, error)


class DiscordAdapter:
    """Wires a :class:`discord.Client` and its :class:`ArenaTree` to the command layer."""

    def __init__(self, layer: CommandLayer) -> None:
        self.layer = layer
        self.secrets = secret_values(layer.settings)
        #: user id -> the command a direct message's next plain text completes (``Reply.expect``)
        self.expecting: dict[int, str] = {}

    async def respond(self, interaction: discord.Interaction, reply: Reply) -> None:
        if reply.expect and not interaction.response.is_done():
            await interaction.response.send_modal(AnswerModal(self, reply.expect, reply.text))
            return
        await send_to_interaction(interaction, reply)

    async def allowed(self, interaction: discord.Interaction, name: str, *, via_button: bool) -> bool:
        """The gate shared by slash commands, buttons and modals."""
        identity = identity_of(interaction)
        if identity is None:
            return False
        decision = await asyncio.to_thread(self.layer.authorize, identity, name, via_button=via_button)
        if not decision.allowed:
            await self.respond(interaction, Reply(decision.reason, ephemeral=True))
        return decision.allowed

    async def run_line(self, interaction: discord.Interaction, line: str, *, via_button: bool) -> None:
        """Parse, (for buttons) gate, defer if slow, run, render."""
        identity = identity_of(interaction)
        if identity is None:
            return
        try:
            parsed = parse_line(line)
        except ArenaError as exc:
            await self.respond(interaction, Reply(sentence(exc.message), ephemeral=True))
            return
        name = parsed.name or ""
        if via_button and not await self.allowed(interaction, name, via_button=True):
            return
        if self.layer.is_slow(name) and not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        command = Command(identity, name, parsed.args, f"dc:{interaction.id}", via_button, False, parsed.text)
        await self.respond(interaction, await self.layer.ahandle(command))

    async def on_message(self, message: discord.Message) -> None:
        """A direct message (not a slash command): a typed command, an answer, or the menu."""
        if message.author.bot or not isinstance(message.channel, discord.DMChannel):
            return  # bots (ourselves included); chatter in a server channel or a group DM
        if not message.content.strip():
            return  # a file or a sticker without text
        identity = Identity(PLATFORM, message.author.id, message.channel.id, ChatType.PRIVATE,
                            message.author.display_name)
        line = message.content.strip()
        expect = self.expecting.pop(message.author.id, None)
        if expect is not None and not line.startswith("/"):
            line = f"/{expect} {line}"
        reply = await asyncio.to_thread(self.layer.handle_line, identity, line, f"dc:msg:{message.id}")
        if reply.expect:
            self.expecting[message.author.id] = reply.expect
        await send_to_channel(message.channel, reply)

    def slash_command(self, name: str) -> app_commands.Command[Any, ..., None]:
        permission = PERMISSIONS[name]
        adapter = self

        @app_commands.describe(arguments=permission.usage[:100])
        async def callback(interaction: discord.Interaction, arguments: str | None = None) -> None:
            await adapter.run_line(interaction, f"/{name} {arguments or ''}".strip(), via_button=False)

        callback.__doc__ = permission.summary
        return app_commands.Command(name=name, description=permission.summary[:100], callback=callback)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Button presses (``arena:<action>``); slash commands and modals are routed by discord.py."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if custom_id.startswith(BUTTON_PREFIX):
            await self.run_line(interaction, "/" + custom_id[len(BUTTON_PREFIX) :], via_button=True)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """The one error handler: redacted traceback in the log, a short apology to the user."""
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        log.error("discord interaction failed:\n%s", redact(text, self.secrets))
        try:
            await send_to_interaction(interaction, Reply(APOLOGY, ephemeral=True))
        except discord.HTTPException as exc:
            log.warning("could not send the apology: %s", redact(str(exc), self.secrets))

    def build(self, *, intents: discord.Intents | None = None, **client_options: Any) -> discord.Client:
        """A client with the tree and the interaction listener installed."""
        client = discord.Client(intents=intents or discord.Intents.default(), **client_options)
        tree = ArenaTree(client)
        tree.adapter = self
        for name, permission in PERMISSIONS.items():
            if not permission.button_only:
                tree.add_command(self.slash_command(name))
        client.event(self._interaction_listener())
        client.event(self._message_listener())
        client.arena_tree = tree  # type: ignore[attr-defined]
        return client

    def _interaction_listener(self) -> Any:
        adapter = self

        async def on_interaction(interaction: discord.Interaction) -> None:
            try:
                await adapter.on_interaction(interaction)
            except Exception as exc:  # discord.py would only print it
                await adapter.on_error(interaction, exc)

        return on_interaction


    def _message_listener(self) -> Any:
        adapter = self

        async def on_message(message: discord.Message) -> None:
            try:
                await adapter.on_message(message)
            except Exception as exc:  # discord.py would only print it
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                log.error("discord message failed:\n%s", redact(text, adapter.secrets))
                try:
                    await message.channel.send(APOLOGY)
                except discord.HTTPException as send_error:
                    log.warning("could not send the apology: %s", redact(str(send_error), adapter.secrets))

        return on_message


def tree_of(client: discord.Client) -> ArenaTree:
    tree: ArenaTree = client.arena_tree  # type: ignore[attr-defined]
    return tree


def registered_commands(client: discord.Client) -> set[str]:
    return {command.name for command in tree_of(client).get_commands()}
