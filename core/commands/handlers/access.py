"""/apikey: create (shown once), list (with last use) and revoke the caller's REST API keys.

Private chats only (the table says so): a key is a secret. A key acts as its user with that user's
role and organisation, so a visitor's key can read only what a visitor may.
"""

from __future__ import annotations

from core import access, formatting
from core.commands.context import Ctx
from core.commands.parsing import id_arg
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.errors import ValidationError

USAGE = "Usage: /apikey create [LABEL], /apikey list, /apikey revoke ID"


@handles("apikey")
def apikey(ctx: Ctx, cmd: Command) -> Reply:
    """Dispatch on the first argument (``list`` by default)."""
    action = cmd.args[0].lower() if cmd.args else "list"
    ident = ctx.identity
    if action == "create":
        created = access.create_in(ctx.session, ctx.clock, ident.platform, ident.user_id,
                                   " ".join(cmd.args[1:]), ident.display_name)
        return Reply(
            f"API key #{created.key_id} created. It is shown only now; store it safely:\n{created.key}\n"
            "Send it as the header Authorization: Bearer KEY. It acts as you, with your role. "
            f"Revoke it with /apikey revoke {created.key_id}. Delete this message once you have copied it.",
            ephemeral=True,
        )
    if action == "list" and len(cmd.args) <= 1:
        keys = access.list_in(ctx.session, ident.platform, ident.user_id)
        if not keys:
            return Reply("You have no API keys. /apikey create [LABEL] makes one.")
        lines = ["Your API keys:"]
        for k in keys:
            used = formatting.datetime_text(k.last_used_at) if k.last_used_at else "never"
            state = (f"revoked {formatting.datetime_text(k.revoked_at)}" if k.revoked_at
                     else f"last used {used}")
            label = f" {k.label}" if k.label else ""
            lines.append(f"#{k.key_id} ta_{k.prefix}_...{label}: created "
                         f"{formatting.datetime_text(k.created_at)}, {state}")
        return Reply("\n".join(lines))
    if action == "revoke" and len(cmd.args) == 2:
        key_id = id_arg(cmd.args[1], "key id")
        done = access.revoke_in(ctx.session, ctx.clock, ident.platform, ident.user_id, key_id)
        return Reply(f"API key #{key_id} revoked." if done else f"API key #{key_id} was already revoked.")
    raise ValidationError(USAGE)
