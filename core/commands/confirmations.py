"""Money commands go through a confirmation button.

``/buy ABC 100`` stores a :class:`PendingConfirmation` keyed by the command's idempotency key (the
same update delivered twice finds the same row) and replies with Confirm / Cancel buttons. Pressing
Confirm runs the registered executor once, in one transaction with the row's status change and an
idempotency key derived from the pending row (``<platform>:confirm:<id>``): a second press, a
redelivered press or a race between two presses all give one effect and the same stored reply.
A later press of a used button answers "already done" (never the trade's text again, which would read
as a second trade). Only the person who asked may confirm — anyone else is told the request does not
exist, exactly as for a missing id; the permission is checked again at press time (a role can
change in between); a pending row expires after :data:`CONFIRM_TTL`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.clock import ensure_utc
from core.commands.context import Ctx
from core.commands.parsing import id_arg
from core.commands.permissions import PERMISSIONS, allowed, denial
from core.commands.registry import handles
from core.commands.types import Button, Command, Reply
from core.db import insert_if_absent
from core.errors import IdempotencyConflict, NotFound, ValidationError
from core.ledger.idempotency import run_idempotent
from core.models.chat import PendingConfirmation

CONFIRM_TTL = timedelta(minutes=10)

#: Runs a confirmed money command inside the confirming transaction:
#: (ctx, session, pending row, idempotency key) -> reply text. Use the services' ``*_in`` variants.
Executor = Callable[[Ctx, Session, PendingConfirmation, str], str]
EXECUTORS: dict[str, Executor] = {}


def executes(name: str) -> Callable[[Executor], Executor]:
    """Register the executor that runs ``/name`` once it is confirmed."""

    def decorator(fn: Executor) -> Executor:
        EXECUTORS[name] = fn
        return fn

    return decorator


def ask(ctx: Ctx, cmd: Command, summary: str) -> Reply:
    """Store a pending confirmation for ``cmd`` (once per idempotency key) and show the buttons."""
    return ask_in(ctx.session, ctx, cmd, summary)


_CONFIRMATIONS = cast(Table, PendingConfirmation.__table__)


def ask_in(session: Session, ctx: Ctx, cmd: Command, summary: str) -> Reply:
    """:func:`ask` in ``session`` (for handlers that run their own units of work)."""
    if not cmd.idempotency_key:
        raise ValidationError("This request has no id; please send it again.")
    ident = ctx.identity
    query = select(PendingConfirmation).where(PendingConfirmation.idempotency_key == cmd.idempotency_key)
    row = session.scalar(query)
    if row is None:
        now = ctx.now()
        values = {"idempotency_key": cmd.idempotency_key, "platform": ident.platform,
                  "platform_user_id": ident.user_id, "chat_id": ident.chat_id, "command": cmd.name,
                  "args": list(cmd.args), "summary": summary, "status": "pending", "created_at": now,
                  "expires_at": now + CONFIRM_TTL}
        # A redelivered message handled beside the original: the second insert waits for the first
        # and stores nothing (it died with a unique violation); both then read the one row.
        insert_if_absent(session, _CONFIRMATIONS, values, ("idempotency_key",))
        row = session.scalars(query.execution_options(populate_existing=True)).one()
    if (row.command, row.args, row.platform_user_id) != (cmd.name, list(cmd.args), ident.user_id):
        raise IdempotencyConflict("That message id was already used for a different request.")
    return prompt(row)


def prompt(row: PendingConfirmation) -> Reply:
    minutes = int(CONFIRM_TTL.total_seconds() // 60)
    buttons = [[Button("Confirm", f"confirm {row.id}"), Button("Cancel", f"cancel {row.id}")]]
    return Reply(f"{row.summary}\nConfirm within {minutes} minutes.", buttons=buttons)


#: Someone else's request reads exactly like a missing one (request ids cannot be probed).
GONE = "That request does not exist (or is not yours); send the command again."
ALREADY_DONE = "Already done: that request was carried out once; nothing was repeated. See /wallet."


def _load_own(ctx: Ctx, row: PendingConfirmation | None) -> PendingConfirmation:
    if row is None or (row.platform, row.platform_user_id) != (
        ctx.identity.platform,
        ctx.identity.user_id,
    ):
        raise NotFound(GONE)
    return row


@handles("confirm", own_transaction=True)
def confirm(ctx: Ctx, cmd: Command) -> Reply:
    """Run a pending money command once, atomically with marking it done."""
    pending_id = id_arg(cmd.args[0] if len(cmd.args) == 1 else "", "request id")
    row = _load_own(ctx, ctx.session.get(PendingConfirmation, pending_id))
    if row.status == "done":
        return Reply(ALREADY_DONE)
    if row.status == "cancelled":
        return Reply("That request was cancelled; send the command again if you still want it.")
    if row.status == "expired" or ctx.now() > ensure_utc(row.expires_at):
        with ctx.db.uow() as uow:
            stale = uow.session.get(PendingConfirmation, pending_id)
            if stale is not None and stale.status == "pending":
                stale.status = "expired"
                uow.commit()
        return Reply("That confirmation expired; send the command again.")
    permission = PERMISSIONS[row.command]
    if not allowed(ctx.role, ctx.identity.chat_type, permission):
        return Reply(denial(ctx.role, ctx.identity.chat_type, permission), ephemeral=True)
    executor = EXECUTORS[row.command]
    key = f"{row.platform}:confirm:{row.id}"
    uow = ctx.db.uow()

    def effect(session: Session) -> dict[str, Any]:
        locked = session.get(PendingConfirmation, pending_id, with_for_update=True, populate_existing=True)
        if locked is None or locked.status != "pending":  # decided by a concurrent press
            return {"text": ALREADY_DONE}
        text = executor(ctx, session, locked, key)
        locked.status = "done"
        locked.result_text = text
        locked.resolved_at = uow.clock.now()
        return {"text": text}

    result = run_idempotent(uow, key, f"chat.confirm.{row.command}", {"pending": pending_id}, effect, dict)
    return Reply(str(result["text"]))


@handles("cancel")
def cancel(ctx: Ctx, cmd: Command) -> Reply:
    """Cancel a pending money command (its Cancel button; idempotent), or, typed as ``/cancel ID``
    or pressed from /orders (``cancel order ID``), an open exchange order."""
    if not cmd.via_button or cmd.args[:1] == ("order",):
        from core.commands.handlers.exchange import cancel_order

        return cancel_order(ctx, cmd)
    pending_id = id_arg(cmd.args[0] if len(cmd.args) == 1 else "", "request id")
    row = _load_own(ctx, ctx.session.get(PendingConfirmation, pending_id))
    if row.status == "done":
        return Reply("Too late to cancel: that request was already carried out.")
    if row.status == "pending":
        row.status = "cancelled"
        row.resolved_at = ctx.now()
    return Reply("Cancelled. Nothing was changed.")
