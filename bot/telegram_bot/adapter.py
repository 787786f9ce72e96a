"""The Telegram adapter: one table of handlers over the transport-agnostic command layer.

* Group -1: :func:`TelegramAdapter.gate`, deny by default. No user (channel posts), edited messages,
  unknown commands, group chatter and refused roles stop here (``ApplicationHandlerStop``); free
  text in a private chat that answers no question gets a short menu with buttons.
* Group 0: the onboarding ``ConversationHandler`` (states = ``core`` onboarding steps), one
  ``CommandHandler`` per row of the permission table, one ``CallbackQueryHandler`` for every button
  and one ``MessageHandler`` for free-text answers the command layer asked for (``Reply.expect``).
* One error handler: logs a redacted traceback, tells the user briefly, never shows internals.

Idempotency keys: ``tg:<chat id>:<message id>`` for messages, ``tg:cb:<callback query id>`` for
presses, so a redelivered update has the same key and one effect.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import warnings
from typing import Any

from telegram import Update
from telegram.constants import ChatType as TgChatType
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.redaction import redact, secret_values
from bot.telegram_bot.render import send_reply
from core.commands.dispatcher import APOLOGY, EDITED_MONEY, CommandLayer
from core.commands.handlers.onboarding import Step
from core.commands.parsing import ParsedLine, parse_line
from core.commands.permissions import PERMISSIONS
from core.commands.types import ChatType, Command, Identity, Reply
from core.errors import ArenaError
from core.formatting import sentence

log = logging.getLogger(__name__)
PLATFORM = "telegram"
EXPECT = "arena_expect"  # user_data key: the command prefix the next free text completes
STATES = {
    Step.ATTEST.value: Step.ATTEST.value,
    Step.ORG_KIND.value: Step.ORG_KIND.value,
    Step.ORG_NAME.value: Step.ORG_NAME.value,
}
Context = ContextTypes.DEFAULT_TYPE


def identity_of(update: Update) -> Identity | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    chat_type = ChatType.PRIVATE if chat.type == TgChatType.PRIVATE else ChatType.GROUP
    return Identity(PLATFORM, user.id, chat.id, chat_type, user.full_name or "")


def parsed_request(update: Update, context: Context) -> tuple[ParsedLine, str, bool] | None:
    """(parsed line, idempotency key, via button) for an update, or None when it is not for us."""
    query = update.callback_query
    if query is not None:
        if not query.data:
            return None
        return parse_line("/" + query.data), f"tg:cb:{query.id}", True
    message = update.message or update.edited_message
    if message is None or not message.text or update.effective_chat is None:
        return None
    key = f"tg:{update.effective_chat.id}:{message.message_id}"
    text = message.text
    if not text.startswith("/"):
        expect = (context.user_data or {}).get(EXPECT)
        if not expect:
            if update.effective_chat.type != TgChatType.PRIVATE:
                return None  # chatter in a group is not for us
            return ParsedLine(None, (), text[:200]), key, False  # free text: the menu
        text = f"/{expect} {text}"
    return parse_line(text), key, False


class TelegramAdapter:
    """Builds and serves the PTB :class:`Application` for one command layer."""

    def __init__(self, layer: CommandLayer) -> None:
        self.layer = layer
        self.secrets = secret_values(layer.settings)

    # -- rendering --------------------------------------------------------------------------------
    async def respond(self, update: Update, context: Context, reply: Reply) -> None:
        """Ephemeral answers to a button become a popup; everything else a message in the chat."""
        query = update.callback_query
        if query is not None:
            if reply.ephemeral and len(reply.text) <= 200 and not reply.buttons:
                await query.answer(reply.text, show_alert=True)
                return
            await query.answer()
        chat = update.effective_chat
        if chat is not None:
            await send_reply(context.bot, chat.id, reply)

    # -- group -1 ---------------------------------------------------------------------------------
    async def gate(self, update: Update, context: Context) -> None:
        """Deny by default: stop every update the permission table does not allow."""
        identity = identity_of(update)
        if identity is None:
            raise ApplicationHandlerStop
        try:
            request = parsed_request(update, context)
        except ArenaError as exc:
            await self.respond(update, context, Reply(sentence(exc.message), ephemeral=True))
            raise ApplicationHandlerStop from None
        if request is None:
            raise ApplicationHandlerStop
        parsed, _key, via_button = request
        name = parsed.name or ""
        if update.edited_message is not None:
            permission = PERMISSIONS.get(name)
            if permission is not None and permission.money:
                await self.respond(update, context, Reply(EDITED_MONEY, ephemeral=True))
            raise ApplicationHandlerStop  # edits never run commands
        if parsed.name is None:
            return  # free text in a private chat: everyone may see the menu
        decision = await asyncio.to_thread(self.layer.authorize, identity, name, via_button=via_button)
        if not decision.allowed:
            await self.respond(update, context, Reply(decision.reason, ephemeral=True))
            raise ApplicationHandlerStop

    # -- group 0 ----------------------------------------------------------------------------------
    async def dispatch(self, update: Update, context: Context) -> Reply:
        """Run the update's command through the command layer and render the reply."""
        identity = identity_of(update)
        request = parsed_request(update, context)
        if identity is None or request is None:
            return Reply("")
        parsed, key, via_button = request
        if parsed.name is None:
            reply = await self.layer.afree_text(identity, key)
        else:
            command = Command(identity, parsed.name, parsed.args, key, via_button, False, parsed.text)
            reply = await self.layer.ahandle(command)
        if context.user_data is not None:
            if reply.expect:
                context.user_data[EXPECT] = reply.expect
            else:
                context.user_data.pop(EXPECT, None)
        await self.respond(update, context, reply)
        return reply

    async def on_command(self, update: Update, context: Context) -> None:
        """Any command from the permission table."""
        await self.dispatch(update, context)

    async def on_button(self, update: Update, context: Context) -> None:
        """Any inline-keyboard press (confirmations, approvals, attestations)."""
        await self.dispatch(update, context)

    async def on_text(self, update: Update, context: Context) -> None:
        """Free text that answers a question the command layer asked (``Reply.expect``)."""
        await self.dispatch(update, context)

    async def on_onboarding(self, update: Update, context: Context) -> object:
        """One onboarding step; the reply's step is the conversation's next state."""
        reply = await self.dispatch(update, context)
        return STATES.get(reply.step or "", ConversationHandler.END)

    async def on_error(self, update: object, context: Context) -> None:
        """The one error handler: redacted traceback in the log, a short apology in the chat."""
        error = context.error
        secrets = self.secrets
        if error is not None:
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            log.error("telegram update failed:\n%s", redact(text, secrets))
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, APOLOGY)
            except Exception as exc:  # the chat may be unreachable; nothing more to do
                log.warning("could not send the apology: %s", redact(str(exc), secrets))

    # -- wiring -----------------------------------------------------------------------------------
    def onboarding_conversation(self) -> ConversationHandler[Any]:
        button = CallbackQueryHandler
        with warnings.catch_warnings():
            # PTB warns that per_message=False tracks callback queries per chat, not per message:
            # that is what we want (one onboarding per user and chat).
            warnings.simplefilter("ignore", PTBUserWarning)
            return ConversationHandler(
                entry_points=[
                    CommandHandler("start", self.on_onboarding, filters=filters.UpdateType.MESSAGE)
                ],
                states={
                    Step.ATTEST.value: [button(self.on_onboarding, pattern=r"^attest ")],
                    Step.ORG_KIND.value: [button(self.on_onboarding, pattern=r"^org register ")],
                    Step.ORG_NAME.value: [
                        MessageHandler(
                            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_onboarding
                        )
                    ],
                },
                fallbacks=[CommandHandler("start", self.on_onboarding, filters=filters.UpdateType.MESSAGE)],
                name="onboarding",
                allow_reentry=True,
            )

    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register the gate, the handlers from the permission table and the error handler."""
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(self.onboarding_conversation())
        for name, permission in PERMISSIONS.items():
            if permission.button_only or name == "start":
                continue
            app.add_handler(CommandHandler(name, self.on_command, filters=filters.UpdateType.MESSAGE))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_text)
        )
        app.add_error_handler(self.on_error)

    def build(
        self,
        token: str,
        *,
        request: BaseRequest | None = None,
        rate_limiter: BaseRateLimiter[Any] | bool | None = True,
        concurrent_updates: bool | int = True,
        get_updates_request: BaseRequest | None = None,
        base_url: str | None = None,
    ) -> Application[Any, Any, Any, Any, Any, Any]:
        """A configured Application (``request`` replaces the network, e.g. OfflineRequest;
        ``get_updates_request`` its long-polling connection, default the same; ``base_url`` a
        local Bot API server)."""
        builder = Application.builder().token(token).concurrent_updates(concurrent_updates)
        if base_url is not None:
            builder = builder.base_url(base_url.rstrip("/") + "/bot")
        if request is not None:
            builder = builder.request(request).get_updates_request(get_updates_request or request)
        # PTB types the builder by its rate limiter's argument type; ours takes none (Any here).
        limiter: Any = AIORateLimiter(max_retries=3) if rate_limiter is True else rate_limiter
        if limiter:
            builder = builder.rate_limiter(limiter)
        app = builder.build()
        self.install(app)
        return app


def registered_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> set[str]:
    """Every command name the application answers (must equal the permission table)."""
    names: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                names |= set(handler.commands)
            elif isinstance(handler, ConversationHandler):
                for inner in handler.entry_points:
                    if isinstance(inner, CommandHandler):
                        names |= set(inner.commands)
    return names
