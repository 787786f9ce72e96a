"""Dashboard buttons run the same commands as chat: a form post becomes a
:class:`~core.commands.types.Command` from the signed-in user's platform identity, through the one
:class:`~core.commands.dispatcher.CommandLayer` gate (permission table, unit of work, idempotency).

The idempotency key is the form's nonce scoped by the session (``web:SESSION:NONCE``), so a double
submit of one form has one effect and answers like a second press of a chat button.
"""

from __future__ import annotations

import re

from core.commands.dispatcher import CommandLayer
from core.commands.types import ChatType, Command, Identity
from core.compliance.dashboard_login import Viewer

NONCE = re.compile(r"^[0-9a-f]{8,64}$")


def identity_of(viewer: Viewer) -> Identity:
    """The viewer as a private-chat identity (the dashboard is private to its user)."""
    return Identity(viewer.platform, viewer.platform_user_id, viewer.platform_user_id, ChatType.PRIVATE,
                    viewer.display_name)


def run_command(layer: CommandLayer, viewer: Viewer, name: str, args: tuple[str, ...], nonce: str) -> str:
    """Run ``/name args`` as the viewer; returns the reply text (refusals included, one line)."""
    if not NONCE.match(nonce or ""):
        return "This form is incomplete: reload the page and try again."
    key = f"web:{viewer.session_id}:{nonce}"
    return layer.handle(Command(identity_of(viewer), name, args, key)).text
