"""Browsing and the pipeline: /tokens, /token, /strategies, /backtest, /import.

/strategies reads the pipeline's candidate table directly (core owns the models); /import and
/backtest call hooks wired by the composition root, because ``core`` never imports ``parser`` or
``backtest``. Those two are slow and run outside the dispatcher's write transaction.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from core import formatting
from core.commands.context import Ctx
from core.commands.parsing import expect_args, id_arg, symbol_arg
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.distributions.service import policy_line
from core.errors import UnknownToken, ValidationError
from core.formatting import count, percent, ratio
from core.models.pipeline import StrategyCandidate
from core.models.tokens import NavMark, StrategyToken, TokenStatus
from core.money import div

SHOWN = (TokenStatus.ACTIVE, TokenStatus.PROVING)
NAME_WIDTH = 48
UNAVAILABLE = "That feature is not enabled in this deployment."


@handles("tokens", read_only=True)
def tokens(ctx: Ctx, cmd: Command) -> Reply:
    """List tradable tokens with NAV and supply left."""
    rows = ctx.session.scalars(
        select(StrategyToken).where(StrategyToken.status.in_(SHOWN)).order_by(StrategyToken.symbol)
    ).all()
    if not rows:
        return Reply("No strategy tokens are available yet.")
    lines = ["Strategy tokens (NAV per token):"]
    for token in rows:
        left = token.total_supply - token.circulating_supply
        lines.append(
            f"{token.symbol} - {formatting.shorten(token.name, NAME_WIDTH)}\n"
            f"  NAV {formatting.nav(token.nav_per_token)}, {token.status.value}, AUM "
            f"{formatting.cash(token.aum)}, {formatting.quantity(left, 0)} tokens left"
        )
    lines.append("Details: /token SYMBOL. Buy: /buy SYMBOL AMOUNT (for example /buy SYMBOL 1,000).")
    return Reply("\n".join(lines))


@handles("token", read_only=True)
def token(ctx: Ctx, cmd: Command) -> Reply:
    """One token: NAV, 30-day change, drawdown, supply and strategy."""
    (symbol_text,) = expect_args(cmd.args, 1, "/token SYMBOL")
    symbol = symbol_arg(symbol_text)
    row = ctx.session.scalar(select(StrategyToken).where(StrategyToken.symbol == symbol))
    if row is None:
        raise UnknownToken(f"No token {symbol}; see /tokens.")
    lines = [f"{row.symbol} - {row.name} ({row.status.value})", f"NAV {formatting.nav(row.nav_per_token)}"]
    since = ctx.now().date() - timedelta(days=30)
    first = ctx.session.scalar(
        select(NavMark).where(NavMark.token_id == row.id, NavMark.as_of >= since).order_by(NavMark.as_of)
    )
    if first is not None and first.nav_per_token > 0:
        lines.append(f"30 days: {formatting.change(div(row.nav_per_token, first.nav_per_token) - 1)}")
    if row.peak_nav > 0:
        below_peak = min(div(row.nav_per_token, row.peak_nav) - 1, Decimal(0))
        lines.append(f"Drawdown from peak: {formatting.drawdown(below_peak)}")
    lines.append(
        f"AUM {formatting.cash(row.aum)}; {formatting.quantity(row.circulating_supply, 0)} of "
        f"{formatting.quantity(row.total_supply, 0)} tokens issued"
    )
    lines.append(policy_line(ctx.session, row))  # issue 14: accumulate or distribute
    if row.agent is not None:
        lines.append(
            f"Strategy: {row.agent.name} ({formatting.family_name(row.agent.family)}), "
            f"code hash {row.agent.code_sha256[:12]}"
        )
        lines += gate_report_lines(row.agent.gate_report)
    if row.retire_reason:
        lines.append(f"Retired: {row.retire_reason}")
    elif row.status is TokenStatus.ACTIVE:
        lines.append(f"Buy: /buy {row.symbol} AMOUNT")
    return Reply("\n".join(lines))


@handles("strategies", read_only=True)
def strategies(ctx: Ctx, cmd: Command) -> Reply:
    """The latest imported strategy candidates and their state."""
    if ctx.hooks.list_strategies is not None:
        return Reply(ctx.hooks.list_strategies())
    rows = ctx.session.scalars(
        select(StrategyCandidate).order_by(StrategyCandidate.id.desc()).limit(20)
    ).all()
    if not rows:
        return Reply("No strategy candidates yet. Import one with /import URL.")
    lines = ["Strategy candidates (newest first):"]
    for c in rows:
        what = formatting.family_name(c.family) if c.family else "not parsed yet"
        asset = f" on {c.primary_asset}" if c.primary_asset else ""
        state = f"became token {c.token_symbol}" if c.token_symbol else formatting.candidate_state(c.state)
        lines.append(f"#{c.id} {what}{asset}: {state}")
    lines.append("Backtest one: /backtest ID")
    return Reply("\n".join(lines))


@handles("backtest", own_transaction=True, slow=True)
def backtest(ctx: Ctx, cmd: Command) -> Reply:
    """Backtest a candidate (slow: runs outside the write transaction)."""
    (id_text,) = expect_args(cmd.args, 1, "/backtest ID")
    candidate_id = id_arg(id_text, "candidate id")
    if ctx.hooks.run_backtest is None:
        return Reply(UNAVAILABLE)
    return Reply(ctx.hooks.run_backtest(candidate_id))


def check_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(text) > 1000:
        raise ValidationError("Usage: /import URL (an http or https address)")
    return text


@handles("import", own_transaction=True, slow=True)
def import_(ctx: Ctx, cmd: Command) -> Reply:
    """Import a strategy description from a URL (slow; the pipeline is idempotent per key)."""
    (url_text,) = expect_args(cmd.args, 1, "/import URL")
    url = check_url(url_text)
    if ctx.hooks.import_url is None:
        return Reply(UNAVAILABLE)
    return Reply(ctx.hooks.import_url(url, cmd.idempotency_key))


def gate_report_lines(report: dict[str, Any] | None) -> list[str]:
    """The birth gate as the token page shows it: each check with its number, the trial counts, the
    risk-free rate used and how the token was proved (forward, or on replayed history)."""
    if not report or not report.get("checks"):
        return ["Birth gate: no gate report recorded for this token."]
    lines = [
        f"Birth gate: {'passed' if report.get('passed') else 'failed'}"
        f" (risk-free rate: {_risk_free_text(report.get('risk_free') or {})})",
        f"Trials: {formatting.counted(int(report.get('trials_text') or 0), 'variant')} of this strategy, "
        f"{count(int(report.get('trials_total') or 0))} overall; "
        f"chosen: {report.get('best_variant', 'as parsed')}",
    ]
    for check in report["checks"]:
        mark = "n/a" if not check.get("applicable", True) else ("pass" if check.get("passed") else "FAIL")
        lines.append(f"  [{mark}] {_gate_figure(check)}")
    proof = report.get("proof")
    if proof == "replay":
        lines.append("Proof: proved on replayed history (30 held-out days), not forward")
    elif proof == "forward":
        lines.append("Proof: proved forward, on market data as it arrived")
    return lines


def _risk_free_text(rf: dict[str, Any]) -> str:
    """The rate the excess returns were measured over, said once: ``3-month US T-bill (FRED DTB3),
    mean 4.20% a year``; where the data had none the stored name is ``none (synthetic market): 0 %``
    (or ``none in SOURCE: 0 %``), which reads ``0%, none in the synthetic market``."""
    name = str(rf.get("name") or "unknown")
    mean = rf.get("mean_annual_rate")
    if name.startswith("none") and name.endswith(": 0 %"):
        why = name.removeprefix("none").removesuffix(": 0 %").strip()
        if why.startswith("(") and why.endswith(")"):
            why = f"in the {why[1:-1]}"
        return f"{percent(0, 0)}, none {why}".rstrip()
    return f"{name}, mean {percent(mean)} a year" if isinstance(mean, int | float) else name


def _gate_figure(check: dict[str, Any]) -> str:
    """``excess Sharpe 2.10 (needs > 1.50)`` from one stored check."""
    value, threshold, name = check.get("value"), check.get("threshold"), check.get("name")
    label = str(check.get("label") or name)
    if value is None or threshold is None:
        return str(check.get("detail") or label)
    if name == "history":
        shown, needed = f"{count(int(value))} days", count(int(threshold))
    elif name in ("max_drawdown", "overfitting"):
        shown, needed = percent(value, 1), percent(threshold, 1)
    else:
        shown, needed = ratio(value), ratio(threshold)
    return f"{label} {shown} (needs {check.get('comparison', '')} {needed})"
