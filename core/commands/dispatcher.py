"""The command layer's entry point: authorise, run the handler in a unit of work, return a Reply.

Order of checks (deny by default): known command -> button-only commands only from buttons ->
edited messages never run money commands -> role and chat type from the permission table ->
handler. A user-caused :class:`~core.errors.ArenaError` becomes a short reply and rolls back; any
other exception is logged (the bot's logging filter redacts secrets) and the user gets an apology.
Nothing is written unless the handler returns normally, so refused or failed commands write nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from core.commands.context import Ctx, Hooks
from core.commands.parsing import parse_line
from core.commands.permissions import PERMISSIONS, allowed, denial
from core.commands.registry import Registration, load_all
from core.commands.types import Command, Identity, Reply
from core.compliance.identity import resolve
from core.config import Settings
from core.db import Database
from core.errors import ArenaError, PermissionDenied
from core.formatting import sentence
from core.models.compliance import Role
from core.notify import Notifier

log = logging.getLogger(__name__)

MENU = "menu"
APOLOGY = "Sorry, something went wrong on our side. Nothing was changed; please try again later."
EDITED_MONEY = "Edited messages never move money. Send the command again as a new message."


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer for one identity and command name."""

    allowed: bool
    reason: str = ""
    role: Role = Role.VISITOR


class CommandLayer:
    """Transport-agnostic: every adapter calls :meth:`handle` (or :meth:`ahandle`)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        hooks: Hooks | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.hooks = hooks or Hooks()
        self.notifier = notifier
        self.registry: dict[str, Registration] = load_all()
        self.internal_errors = 0

    # -- gate --------------------------------------------------------------------------------------
    def precheck(self, cmd: Command) -> str | None:
        """Checks that need no database: unknown, button-only, edited money. None = passes."""
        permission = PERMISSIONS.get(cmd.name)
        if permission is None or cmd.name not in self.registry:
            return f"Unknown command /{cmd.name[:32]}. Send /help for the list."
        if permission.button_only and not cmd.via_button:
            return f"Unknown command /{cmd.name}. Send /help for the list."
        if permission.money and cmd.edited:
            return EDITED_MONEY
        return None

    def authorize(
        self, identity: Identity, name: str, *, edited: bool = False, via_button: bool = False
    ) -> Decision:
        """Deny-by-default decision for the adapters' gate (reads only)."""
        problem = self.precheck(Command(identity, name, edited=edited, via_button=via_button))
        if problem:
            return Decision(False, problem)
        with self.db.uow(read_only=True) as uow:
            _user, role = resolve(uow.session, self.settings, identity.platform, identity.user_id)
        permission = PERMISSIONS[name]
        if not allowed(role, identity.chat_type, permission):
            return Decision(False, denial(role, identity.chat_type, permission), role)
        return Decision(True, role=role)

    # -- dispatch ----------------------------------------------------------------------------------
    def handle(self, cmd: Command) -> Reply:
        """Run one command and return what to show; never raises."""
        problem = self.precheck(cmd)
        if problem:
            return Reply(problem, ephemeral=True)
        try:
            return self._run(cmd)
        except ArenaError as exc:
            return Reply(sentence(exc.message), ephemeral=True)
        except Exception:
            self.internal_errors += 1
            log.exception(
                "command /%s failed for %s:%s",
                cmd.name,
                cmd.identity.platform,
                cmd.identity.user_id,
            )
            return Reply(APOLOGY, ephemeral=True)

    async def ahandle(self, cmd: Command) -> Reply:
        """:meth:`handle` in a worker thread, so database work never blocks the event loop."""
        return await asyncio.to_thread(self.handle, cmd)

    def handle_line(
        self,
        identity: Identity,
        line: str,
        key: str,
        *,
        via_button: bool = False,
        edited: bool = False,
    ) -> Reply:
        """Parse a chat line (``/buy ABC 100``) and handle it."""
        try:
            parsed = parse_line(line)
        except ArenaError as exc:
            return Reply(sentence(exc.message), ephemeral=True)
        if parsed.name is None:
            return self.free_text(identity, key)
        cmd = Command(identity, parsed.name, parsed.args, key, via_button, edited, parsed.text)
        return self.handle(cmd)

    def free_text(self, identity: Identity, key: str) -> Reply:
        """A message that is not a command (and answers no question): a short menu of what this
        user can do next, with buttons (the ``menu`` handler; it is a button target, never typed)."""
        return self.handle(Command(identity, MENU, (), key, via_button=True))

    async def afree_text(self, identity: Identity, key: str) -> Reply:
        return await asyncio.to_thread(self.free_text, identity, key)

    def is_slow(self, name: str) -> bool:
        registration = self.registry.get(name)
        return registration is not None and registration.slow

    def run(self, cmd: Command) -> Reply:
        """:meth:`handle` for callers that map errors themselves (the REST API): the same gate and
        handler, but a refusal raises :class:`PermissionDenied` and a user error its own
        :class:`ArenaError`; anything else propagates too (the caller logs it)."""
        problem = self.precheck(cmd)
        if problem:
            raise PermissionDenied(problem)
        return self._run(cmd, raise_denied=True)

    def _run(self, cmd: Command, *, raise_denied: bool = False) -> Reply:
        registration = self.registry[cmd.name]
        identity = cmd.identity
        # Handlers that open their own units of work get a read-only session: on SQLite a write
        # transaction here would hold the database lock their own writes wait for.
        read_only = registration.own_transaction or registration.read_only
        with self.db.uow(read_only=read_only) as uow:
            session = uow.session
            user, role = resolve(session, self.settings, identity.platform, identity.user_id)
            permission = PERMISSIONS[cmd.name]
            if not allowed(role, identity.chat_type, permission):
                if raise_denied:
                    raise PermissionDenied(denial(role, identity.chat_type, permission))
                return Reply(denial(role, identity.chat_type, permission), ephemeral=True)
            ctx = Ctx(self.db, session, self.settings, identity, user, role, self.hooks)
            reply = registration.handler(ctx, cmd)
            if not read_only:
                uow.commit()
        if self.notifier is not None:
            for message in ctx.outbox:
                self.notifier.notify(message)
        return reply
