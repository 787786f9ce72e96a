"""Onboarding and compliance: /start, /help, /disclosures, /attest, /org.

Onboarding is an explicit state machine (:class:`Step`): ATTEST (one button per attestation, in
order) -> ORG_KIND (one button per organisation kind) -> ORG_NAME (free text) -> done (pending until
a platform admin verifies). Every reply names the step it leaves the user in, so each adapter's
conversation (PTB ``ConversationHandler``, Discord modal, console prompt) follows the same machine.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select

from core.commands.context import Ctx
from core.commands.handlers.common import ensure_user, remember_chat
from core.commands.permissions import PERMISSIONS, allowed
from core.commands.registry import handles
from core.commands.types import Button, ChatType, Command, OutboundMessage, Reply
from core.compliance import applications, attestations, disclosures, organisations
from core.compliance.identity import admin_ids, refresh_role
from core.errors import ValidationError
from core.models.chat import ChatPreference
from core.models.compliance import OrgStatus, Role

ROLE_NAMES = {
    Role.VISITOR: "a visitor (send /start to begin)",
    Role.MEMBER: "a member; your organisation awaits verification",
    Role.VERIFIED_MEMBER: "a member of a verified organisation",
    Role.ORG_ADMIN: "an organisation admin",
    Role.PLATFORM_ADMIN: "a platform admin",
}


class Step(StrEnum):
    """Onboarding conversation states."""

    ATTEST = "attest"
    ORG_KIND = "org_kind"
    ORG_NAME = "org_name"


def _attest_prompt(ctx: Ctx, intro: str = "") -> Reply | None:
    """The next attestation button, or None when all are given."""
    missing = attestations.missing(ctx.session, ctx.user)
    if not missing:
        return None
    d = disclosures.current()
    kind = missing[0]
    done = len(disclosures.ATTESTATION_ORDER) - len(missing) + 1
    total = len(disclosures.ATTESTATION_ORDER)
    text = f"{intro}Step {done} of {total + 2}: press the button to agree.\n{d.text(kind)}"
    button = Button(d.label(kind), f"attest {kind.value} {d.version}")
    return Reply(text.strip(), buttons=[[button]], step=Step.ATTEST)


def _org_kind_prompt(intro: str = "") -> Reply:
    buttons = [
        [Button(label, f"org register {kind.value}")] for kind, label in organisations.KIND_LABELS.items()
    ]
    total = len(disclosures.ATTESTATION_ORDER) + 2
    text = f"{intro}Step {total - 1} of {total}: which kind of organisation do you represent?"
    return Reply(text.strip(), buttons=buttons, step=Step.ORG_KIND)


def _status_text(ctx: Ctx) -> str:
    org = ctx.user.organisation if ctx.user else None
    if org is None:
        return "You have not registered an organisation yet."
    label = organisations.KIND_LABELS[org.kind]
    if org.status is OrgStatus.VERIFIED:
        return (
            f"{org.name} (#{org.id}, {label}) is verified. Next: /wallet shows your wallet, "
            "/tokens the strategy tokens you can buy."
        )
    if org.status is OrgStatus.REJECTED:
        return (
            f"{org.name} (#{org.id}) was not verified. Reply to the platform team's message, or "
            "register again with /org once the details are right."
        )
    return (
        f"{org.name} (#{org.id}, {label}) is pending verification by a platform admin. "
        f"What happens next: an admin reviews its application ({applications.USUAL_WAIT}) and you "
        "get a message here when it is verified; then you can deposit and trade. Meanwhile "
        "/tokens and /strategies show what is on offer."
    )


@handles("start", read_only=True)
def start(ctx: Ctx, cmd: Command) -> Reply:
    """Show the disclosures and walk the user through the next onboarding step (reads only)."""
    intro = disclosures.render() + "\n\n"
    prompt = _attest_prompt(ctx, intro)
    if prompt is not None:
        return prompt
    if ctx.user is None or ctx.user.organisation is None:
        return _org_kind_prompt("You have accepted the current disclosures.\n")
    return Reply(_status_text(ctx))


@handles("help", read_only=True)
def help_(ctx: Ctx, cmd: Command) -> Reply:
    """List the commands this user may run in this chat."""
    lines = [f"You are {ROLE_NAMES[ctx.role]}. Commands you can use here:"]
    for permission in PERMISSIONS.values():
        if permission.button_only or not allowed(ctx.role, ctx.identity.chat_type, permission):
            continue
        lines.append(f"{permission.usage} - {permission.summary}")
    return Reply("\n".join(lines))


@handles("disclosures", read_only=True)
def show_disclosures(ctx: Ctx, cmd: Command) -> Reply:
    """The full current disclosure text."""
    return Reply(disclosures.render())


@handles("attest")
def attest(ctx: Ctx, cmd: Command) -> Reply:
    """Record one attestation for the disclosure version that was shown, then ask the next one."""
    if not 1 <= len(cmd.args) <= 2:
        raise ValidationError("Usage: /attest KIND (press the buttons after /start)")
    kind = attestations.parse_kind(cmd.args[0])
    version = cmd.args[1] if len(cmd.args) == 2 else disclosures.current().version
    user = ensure_user(ctx)
    attestations.attest(ctx.session, user, kind, version, ctx.clock)
    remember_chat(ctx)
    refresh_role(ctx.session, user, ctx.settings)
    prompt = _attest_prompt(ctx, "Thank you, recorded.\n\n")
    if prompt is not None:
        return prompt
    if user.organisation is None:
        return _org_kind_prompt("All attestations recorded.\n")
    return Reply("All attestations recorded. " + _status_text(ctx))


@handles("org")
def org(ctx: Ctx, cmd: Command) -> Reply:
    """Show the organisation, or register one: /org register KIND NAME."""
    if not cmd.args:
        if ctx.user is None or ctx.user.organisation is None:
            return _org_kind_prompt()
        return Reply(_status_text(ctx))
    if cmd.args[0].lower() != "register" or len(cmd.args) < 2:
        raise ValidationError(
            "Usage: /org register KIND NAME (KIND: church, church_trust, religious_organisation)"
        )
    kind = organisations.parse_org_kind(cmd.args[1])
    name = " ".join(cmd.args[2:])
    if not name:
        label = organisations.KIND_LABELS[kind].lower()
        total = len(disclosures.ATTESTATION_ORDER) + 2
        return Reply(
            f"Step {total} of {total}: what is the name of your {label}? Send it as a message.",
            expect=f"org register {kind.value}",
            step=Step.ORG_NAME,
        )
    user = ensure_user(ctx)
    registered = organisations.register(ctx.session, user, kind, name, ctx.clock)
    application = applications.open_application(ctx.session, ctx.now(), registered, user)
    remember_chat(ctx)
    refresh_role(ctx.session, user, ctx.settings)
    _tell_admins(
        ctx,
        f"New organisation #{registered.id} {registered.name} ({kind.value}) applied "
        f"(application #{application.id}); see /pending.",
    )
    return Reply(
        f"Registered. {_status_text(ctx)}\nNext: send /agreement to read your organisation's PMA "
        "agreement (PDF and a short summary) and accept it. Optional details for the reviewer: "
        "/apply ein NUMBER, /apply trust NAME, /apply trustees NAME; NAME."
    )


def _tell_admins(ctx: Ctx, text: str) -> None:
    """Queue a note to every configured platform admin whose chat we know."""
    for platform, user_id in sorted(admin_ids(ctx.settings)):
        pref = ctx.session.scalar(
            select(ChatPreference).where(
                ChatPreference.platform == platform, ChatPreference.platform_user_id == user_id
            )
        )
        if pref is not None:
            ctx.outbox.append(OutboundMessage(platform, pref.chat_id, Reply(text), ChatType.PRIVATE))


#: Menu entries per role: (button label, command). The first entries are the likeliest next steps.
MENUS = {
    Role.VISITOR: [("Start onboarding", "start"), ("Strategy tokens", "tokens"), ("All commands", "help")],
    Role.MEMBER: [("My organisation", "org"), ("Strategy tokens", "tokens"), ("All commands", "help")],
    Role.VERIFIED_MEMBER: [("My wallet", "wallet"), ("Strategy tokens", "tokens"),
                           ("Proposals", "proposals"), ("All commands", "help")],
}
MENUS[Role.ORG_ADMIN] = MENUS[Role.VERIFIED_MEMBER]
MENUS[Role.PLATFORM_ADMIN] = [*MENUS[Role.VERIFIED_MEMBER][:-1], ("Platform stats", "stats"),
                              ("All commands", "help")]


@handles("menu", read_only=True)
def menu(ctx: Ctx, cmd: Command) -> Reply:
    """Free text that answers no question: what this user can do next, as buttons."""
    chat = ctx.identity.chat_type
    entries = [
        (label, name) for label, name in MENUS[ctx.role]
        if allowed(ctx.role, chat, PERMISSIONS[name])
    ]
    listed = ", ".join(f"/{name}" for _, name in entries)
    buttons = [[Button(label, name)] for label, name in entries]
    return Reply(f"I only understand commands. What would you like to do? ({listed})", buttons=buttons)
