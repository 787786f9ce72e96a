"""/submit TEXT|URL (a strategy write-up for the import pipeline, credited to your organisation for
the import bounty) and /bounties (what your organisation earned, accrued and was paid)."""

from __future__ import annotations

from urllib.parse import urlparse

from core.bounty import BOUNTY_RATE, bounty_report
from core.commands.context import Ctx
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.errors import NotFound, ValidationError
from core.formatting import cash, count, date_text, percent

MIN_TEXT, MAX_TEXT = 40, 20_000
UNAVAILABLE = "Submitting strategies is not enabled in this deployment."


def _organisation(ctx: Ctx) -> int:
    user = ctx.user
    if user is None or user.organisation_id is None:
        raise NotFound("You have no organisation yet; send /start to register one.")
    return user.organisation_id


def check_submission(text: str) -> str:
    """A URL (http/https) or a write-up of ``MIN_TEXT``..``MAX_TEXT`` characters."""
    cleaned = text.strip()
    if cleaned.lower().startswith(("http://", "https://")) and " " not in cleaned:
        parsed = urlparse(cleaned)
        if not parsed.netloc or len(cleaned) > 1000:
            raise ValidationError("Usage: /submit URL (an http or https address) or /submit TEXT")
        return cleaned
    if len(cleaned) < MIN_TEXT:
        raise ValidationError(
            f"Usage: /submit TEXT|URL - describe the strategy in at least {MIN_TEXT} characters, or a URL"
        )
    if len(cleaned) > MAX_TEXT:
        raise ValidationError(f"That text is too long ({len(cleaned):,} characters; at most {MAX_TEXT:,})")
    return cleaned


@handles("submit", own_transaction=True, slow=True)
def submit(ctx: Ctx, cmd: Command) -> Reply:
    """Submit a strategy write-up (text or URL) credited to your organisation."""
    org = _organisation(ctx)
    source = check_submission(cmd.text or " ".join(cmd.args))
    if ctx.hooks.submit_source is None:
        return Reply(UNAVAILABLE)
    assert ctx.user is not None
    return Reply(ctx.hooks.submit_source(source, org, ctx.user.id))


@handles("bounties", read_only=True)
def bounties(ctx: Ctx, cmd: Command) -> Reply:
    """Your organisation's import bounty: per token earned, accrued (not yet paid), paid."""
    report = bounty_report(ctx.session, _organisation(ctx))
    rate = percent(BOUNTY_RATE, 0)
    what = "strategy" if report.submissions == 1 else "strategies"
    lines = [
        f"Import bounty: {count(report.submissions)} {what} submitted "
        f"by your organisation. Accrued {cash(report.accrued)} (paid into your wallet monthly), "
        f"paid {cash(report.paid)}"
        + (f", {cash(report.unfunded)} waiting for fee revenue." if report.unfunded > 0 else ".")
    ]
    for t in report.tokens:
        lines.append(f"  {t.symbol}: earned {cash(t.earned)} so far (window ends {date_text(t.ends_at)})")
    if not report.tokens:
        lines.append(
            f"None of your submissions is a token yet. When one is, your organisation earns {rate} of its "
            "net gains to holders in its first 365 days. /submit TEXT|URL sends a strategy."
        )
    return Reply("\n".join(lines))
