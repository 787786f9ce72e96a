"""/agreement: read the organisation's PMA agreement (PDF + summary) and accept it with a button.

The organisation's admin gets the generated PDF and a short summary first, and only then the Agree
button (``agreement agree DOC_ID``); other members get the PDF to read. Registering an organisation
(/org register) answers with the same card, so the signer reads the agreement before accepting it.
"""

from __future__ import annotations

from core.commands.context import Ctx
from core.commands.handlers.common import ensure_user
from core.commands.parsing import id_arg
from core.commands.registry import handles
from core.commands.types import Attachment, Button, Command, Reply
from core.compliance import agreement
from core.errors import NotFound, ValidationError
from core.models import User


def signer_for(user: User) -> agreement.Signer:
    name = (user.display_name or "").strip() or f"{user.platform.value} user {user.platform_user_id}"
    trust = None
    from core.compliance import applications  # the verification application names the trust

    application = applications.latest(user)
    if application is not None:
        trust = application.trust_name
    return agreement.Signer(user, name, trust)


def agreement_card(ctx: Ctx, user: User, intro: str = "") -> Reply:
    """The PDF and summary, then (for the organisation's admin, if not yet accepted) Agree."""
    org = user.organisation
    if org is None:
        raise NotFound("Register your organisation first: send /start.")
    doc = agreement.document_for(ctx.session, ctx.now(), org, signer_for(user))
    pdf = Attachment(f"pma-agreement-{doc.version}-org{org.id}.pdf", doc.pdf, "application/pdf",
                     f"PMA agreement {doc.version} for {org.name}")
    accepted = agreement.CURRENT_VERSION in agreement.accepted_versions(ctx.session, org.id)
    text = intro + agreement.summary(doc, org.name)
    if accepted:
        return Reply(text + f"\n{org.name} has accepted this version.", attachments=[pdf])
    if not user.is_org_admin:
        return Reply(text + "\nYour organisation's admin accepts it for the organisation.", attachments=[pdf])
    return Reply(text + "\nRead the PDF, then press Agree to accept it for your organisation.",
                 attachments=[pdf], buttons=[[Button("Agree", f"agreement agree {doc.id}")]])


@handles("agreement")
def agreement_command(ctx: Ctx, cmd: Command) -> Reply:
    """Show the PMA agreement (PDF + summary + Agree), or accept it: ``agreement agree DOC_ID``."""
    user = ensure_user(ctx)
    if not cmd.args:
        return agreement_card(ctx, user)
    if len(cmd.args) != 2 or cmd.args[0].lower() != "agree":
        raise ValidationError("Usage: /agreement (then press Agree)")
    if cmd.edited:
        raise ValidationError("Edited messages never accept an agreement; press the Agree button.")
    _, created = agreement.agree(ctx.session, ctx.now(), user, id_arg(cmd.args[1], "agreement id"))
    org = user.organisation
    assert org is not None
    done = "Recorded" if created else "Already recorded"
    return Reply(f"{done}: {org.name} accepts the PMA agreement {agreement.CURRENT_VERSION}; its "
                 f"fingerprint is stored with your acceptance. {next_steps(org.status.value)}")


def next_steps(status: str) -> str:
    if status == "verified":
        return "You can trade: /wallet, /tokens."
    return ("What happens next: a platform admin reviews your organisation's application, usually within "
            "one to two business days, and you get a message here when it is verified. Meanwhile "
            "/tokens and /strategies show what is on offer.")
