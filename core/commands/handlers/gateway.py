"""The verification gateway in chat: /apply (an organisation fills in its application), /pending
(platform admins: the queue, with Verify / Reject buttons), /deny ORG REASON (reject with a reason).

/verify stays in :mod:`core.commands.handlers.admin`. Every decision is audited by
:func:`core.compliance.applications.decide` and told to the organisation's members.
"""

from __future__ import annotations

from core import formatting
from core.commands.context import Ctx
from core.commands.handlers.admin import _tell_members
from core.commands.handlers.common import ensure_user
from core.commands.parsing import id_arg
from core.commands.registry import handles
from core.commands.types import Button, Command, Reply
from core.compliance import agreement, applications
from core.errors import ValidationError


@handles("apply")
def apply(ctx: Ctx, cmd: Command) -> Reply:
    """Fill in the organisation's application: /apply ein|trust|trustees|legal VALUE."""
    user = ensure_user(ctx)
    if len(cmd.args) < 2:
        app = applications.latest(user)
        if app is None:
            raise ValidationError("Register your organisation first: send /start.")
        org = user.organisation
        assert org is not None
        agreed = agreement.CURRENT_VERSION in agreement.accepted_versions(ctx.session, org.id)
        return Reply(f"Application #{app.id} ({app.status}): {applications.describe(app, org, agreed)}.\n"
                     "Change a field: /apply ein|trust|trustees|legal VALUE")
    app = applications.update_application(ctx.session, ctx.now(), user, cmd.args[0], " ".join(cmd.args[1:]))
    return Reply(f"Application #{app.id} updated. /apply shows it; a platform admin reviews it "
                 f"{applications.USUAL_WAIT}.")


@handles("pending", read_only=True)
def pending(ctx: Ctx, cmd: Command) -> Reply:
    """Platform admins: organisations waiting for verification, with Verify / Reject buttons."""
    rows = applications.pending(ctx.session)
    if not rows:
        return Reply("No applications are waiting.")
    lines = [f"{formatting.counted(len(rows), 'application')} waiting:"]
    buttons = []
    for app, org in rows[:20]:
        agreed = agreement.CURRENT_VERSION in agreement.accepted_versions(ctx.session, org.id)
        lines.append(applications.describe(app, org, agreed, for_admin=True))
        buttons.append([Button(f"Verify #{org.id}", f"verify {org.id}"),
                        Button(f"Reject #{org.id}", f"deny {org.id}")])
    return Reply("\n".join(lines), buttons=buttons)


@handles("deny")
def deny(ctx: Ctx, cmd: Command) -> Reply:
    """Reject an organisation's application with a reason (asked for when the button is pressed)."""
    if not cmd.args:
        raise ValidationError("Usage: /deny ORG REASON")
    org_id = id_arg(cmd.args[0], "organisation id")
    reason = " ".join(cmd.args[1:]).strip()
    if not reason:
        return Reply(f"Why is organisation #{org_id} rejected? Send the reason as a message; the "
                     "organisation will read it.", expect=f"deny {org_id}")
    admin = ensure_user(ctx)
    org, _, changed = applications.decide(ctx.session, ctx.now(), admin, org_id, False, reason)
    if not changed:
        return Reply(f"Organisation #{org.id} {org.name} was already rejected.")
    told = _tell_members(ctx, org, (
        f"{org.name} was not verified. The reviewer wrote: {reason[:500]}\nWhat you can do: correct the "
        "application with /apply (for example /apply ein 12-3456789) and reply to the platform team."))
    told_text = formatting.counted(told, "member chat")
    return Reply(f"Organisation #{org.id} {org.name} rejected (audited); {told_text} told.")
