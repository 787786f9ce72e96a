"""/dashboard: a single-use link that signs the caller in to the web dashboard (10 minutes).

Private chats only (a link in a group could be used by anyone who reads it). Organisation admins
see their own organisation; platform admins see the admin dashboard.
"""

from __future__ import annotations

from core.commands.context import Ctx
from core.commands.handlers.common import ensure_user
from core.commands.parsing import expect_args
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.compliance import dashboard_login


@handles("dashboard")
def dashboard(ctx: Ctx, cmd: Command) -> Reply:
    """Issue a one-time login link (stored hashed)."""
    expect_args(cmd.args, 0, "/dashboard")
    url = dashboard_login.issue_link(ctx.session, ctx.settings, ensure_user(ctx), ctx.now())
    minutes = int(dashboard_login.LINK_TTL.total_seconds() // 60)
    return Reply(
        f"Your dashboard sign-in link (works once, for {minutes} minutes; do not share it):\n{url}",
        ephemeral=True,
    )
