"""Routes that change state through a chat command run it through the same command layer as the
bots (``CommandLayer.run``: the permission table, the handler, its unit of work) and answer with
the command's reply text. Only commands whose effect is complete in one step are run this way;
money moves through :mod:`core.commands.api_ops` (the chat would ask for a Confirm button)."""

from __future__ import annotations

import uuid

from fastapi import Request

from bot.web.auth import Caller
from core.commands.dispatcher import CommandLayer
from core.commands.types import Command


def run_command(request: Request, caller: Caller, name: str, args: tuple[str, ...] = (),
                key: str | None = None) -> dict[str, str]:
    """Run ``/name args`` as the caller; returns ``{"message": reply text}``; errors raise."""
    layer: CommandLayer = request.app.state.layer
    scoped = f"api:{caller.principal.user_id if caller.principal else 0}:{key or uuid.uuid4()}"
    reply = layer.run(Command(caller.identity, name, args, scoped, text=" ".join(args)))
    return {"message": reply.text}
