"""/statement [YYYY-MM]: the organisation's monthly statement as a PDF attachment (sent through the
same file path as /proof). Without a month: the last complete month. Read only."""

from __future__ import annotations

from core.commands.context import Ctx
from core.commands.registry import handles
from core.commands.types import Attachment, Command, Reply
from core.errors import NotFound, ValidationError
from core.formatting import cash, change
from core.statements import build_statement, previous_month, render_pdf


@handles("statement", read_only=True)
def statement(ctx: Ctx, cmd: Command) -> Reply:
    """Your organisation's statement for a month (PDF)."""
    if len(cmd.args) > 1:
        raise ValidationError("Usage: /statement [YYYY-MM] (without a month: last month)")
    user = ctx.user
    if user is None or user.organisation_id is None:
        raise NotFound("You have no organisation yet; send /start to register one.")
    month = cmd.args[0] if cmd.args else previous_month(ctx.now())
    rates = ctx.hooks.risk_free() if ctx.hooks.risk_free is not None else None
    data = build_statement(ctx.session, user.organisation_id, month, ctx.now(), rates)
    perf = data.performance
    ret = "n/a" if perf.wallet is None else change(perf.wallet)
    bills = "n/a" if perf.tbill is None else change(perf.tbill)
    equal = "n/a" if perf.equal_weight is None else change(perf.equal_weight)
    text = (
        f"Statement of {data.org_name} for {month}{'' if data.complete else ' (to date)'}: "
        f"opening {cash(data.opening.value)}, closing {cash(data.closing.value)}, "
        f"return {ret} (T-bill {bills}, equal weight {equal}). The PDF has every movement, "
        "the holdings at NAV, the fees and the disclosures."
    )
    name = f"statement-org{data.org_id}-{month}.pdf"
    return Reply(
        text, attachments=[Attachment(name, render_pdf(data), "application/pdf", f"Statement {month}")]
    )
