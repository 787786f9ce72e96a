"""Plan commands: /plan (show, upgrade, downgrade) and /risk (Premium's custom risk profile).

``/plan`` shows the wallet's plan, its price and limits, how many distinct tokens it holds, any
scheduled change or unpaid charge, and a button per other plan. ``/plan basic`` (an organisation
admin who owns the wallet) quotes the change — the prorated charge of an upgrade, the date of a
downgrade — and asks to confirm; the change runs in :func:`core.billing.charges.change_plan_in`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import formatting
from core.billing import charges
from core.billing.plans import ORDER, PLANS, PlanLimit, check_custom_risk, committed_tokens, parse_tier
from core.commands.confirmations import ask, executes
from core.commands.context import Ctx
from core.commands.handlers.common import org_wallet, owned_wallet
from core.commands.registry import handles
from core.commands.types import Button, Command, Reply, role_rank
from core.errors import PermissionDenied, ValidationError
from core.formatting import cash as fmt_cash
from core.models.billing import WalletBilling
from core.models.compliance import Role
from core.models.wallets import AIWallet, Tier
from core.optimizer import DEFAULT_CONFIG, DEFAULT_PROFILE, PROFILE_MAX_WEIGHT, OptimizerConfig, RiskProfile
from core.wallets.universe import profile_of

#: /risk presets: the optimizer maximises return at an annualised volatility of at most this.
RISK_PRESETS: dict[str, float] = {"conservative": 0.10, "balanced": 0.20, "growth": 0.35}


def plan_card(ctx: Ctx, wallet: AIWallet) -> Reply:
    """The /plan card: current plan, price, limits, usage, and one button per other plan."""
    plan = PLANS[Tier(wallet.tier)]
    held = len(committed_tokens(ctx.session, wallet.id))
    cap = "unlimited" if plan.max_tokens is None else str(plan.max_tokens)
    lines = [f"Plan: {plan.label()} — {plan.limits()}.",
             f"Tokens held or bid for: {held} of {cap}. Mode: {formatting.mode_name(wallet.mode)}."]
    row = ctx.session.get(WalletBilling, wallet.id)
    if row is not None and row.next_tier and row.next_tier_on:
        when = formatting.date_text(row.next_tier_on)
        lines.append(f"Scheduled: {PLANS[Tier(row.next_tier)].name} from {when}.")
    if row is not None and row.grace_period:
        lines.append(f"Unpaid: the {row.grace_period} charge; add cash with /deposit (retried daily).")
    lines.append("Plans: " + "; ".join(f"{p.label()}: {p.limits()}" for p in PLANS.values()) + ".")
    lines.append("Charges are taken from the wallet's cash in advance on the 1st of each month; an "
                 "upgrade applies at once (prorated), a downgrade from the next month.")
    buttons = [[Button(("Upgrade to " if charges.rank(t) > charges.rank(wallet.tier) else "Move to ")
                       + PLANS[t].name, f"plan {t.value}") for t in ORDER if t is not wallet.tier]]
    return Reply("\n".join(lines), buttons=buttons)


def _changer(ctx: Ctx) -> AIWallet:
    if role_rank(ctx.role) < role_rank(Role.ORG_ADMIN):
        raise PermissionDenied("Only your organisation's admin can change the plan.")
    return owned_wallet(ctx)


@handles("plan")
def plan(ctx: Ctx, cmd: Command) -> Reply:
    """Show the plan, or ask to confirm a change to free|basic|premium."""
    if not cmd.args:
        return plan_card(ctx, org_wallet(ctx))
    if len(cmd.args) != 1:
        raise ValidationError("Usage: /plan [free|basic|premium]")
    if cmd.edited:
        raise ValidationError("Edited messages never change the plan. Send /plan again as a new message.")
    tier = parse_tier(cmd.args[0])
    wallet = _changer(ctx)
    quote = charges.quote_change(ctx.session, ctx.now(), wallet, tier)
    if quote.kind == "same":
        return Reply(quote.text(wallet.tier))
    free = wallet.cash - wallet.cash_reserved
    if quote.charge > free:
        raise PlanLimit(f"the upgrade costs {fmt_cash(quote.charge)} now and the wallet has "
                        f"{fmt_cash(free)} of free cash; an admin can /deposit first")
    return ask(ctx, Command(cmd.identity, "plan", (tier.value,), cmd.idempotency_key),
               quote.text(wallet.tier))


@executes("plan")
def run_plan(ctx: Ctx, session: Session, row: object, key: str) -> str:
    """Execute a confirmed plan change."""
    wallet = _changer(ctx)
    args = getattr(row, "args", [])
    user = ctx.user.id if ctx.user is not None else 0
    return charges.change_plan_in(session, ctx.now(), wallet.id, str(args[0]), actor=f"user:{user}")


#: ``/risk volatility N``: a custom annual target volatility, in percent, within these bounds.
VOLATILITY_BOUNDS = (5, 50)
#: ``/risk maxweight N``: the wallet's own cap per token, in percent (see PROFILE_MAX_WEIGHT).
MAX_WEIGHT_BOUNDS = (round(PROFILE_MAX_WEIGHT[0] * 100), round(PROFILE_MAX_WEIGHT[1] * 100))
RISK_USAGE = ("Usage: /risk conservative|balanced|growth|default, /risk volatility PERCENT (5 to 50), "
              "or /risk maxweight PERCENT (5 to 20, or default)")


def _percent_arg(text: str, bounds: tuple[int, int]) -> int:
    """A whole percent within ``bounds`` (a trailing % allowed), else the usage line."""
    text = text.strip().rstrip("%").strip()
    if text.isdigit() and bounds[0] <= int(text) <= bounds[1]:
        return int(text)
    raise ValidationError(RISK_USAGE)


def _target(args: tuple[str, ...]) -> tuple[str, float | None]:
    """(name, annual target volatility) from the arguments; ``None`` for the default profile."""
    choice = args[0].lower() if args else ""
    if len(args) == 1 and choice in RISK_PRESETS:
        return choice, RISK_PRESETS[choice]
    if len(args) == 1 and choice == "default":
        return choice, None
    if len(args) == 2 and choice == "volatility":
        percent = _percent_arg(args[1], VOLATILITY_BOUNDS)
        return f"custom {percent} %", percent / 100
    raise ValidationError(RISK_USAGE)


def _stored(wallet: AIWallet, profile: RiskProfile) -> None:
    """Save the profile; the default one is stored as None (no max weight key when unset)."""
    wallet.risk_profile = profile.model_dump(exclude_none=True) if profile.is_custom() else None


def _max_weight(ctx: Ctx, args: tuple[str, ...]) -> Reply:
    """``/risk maxweight N|default``: the wallet's own cap per token, keeping its objective."""
    if len(args) != 2:
        raise ValidationError(RISK_USAGE)
    cap = None if args[1].lower() == "default" else _percent_arg(args[1], MAX_WEIGHT_BOUNDS) / 100
    wallet = owned_wallet(ctx)
    check_custom_risk(wallet)
    current = profile_of(wallet.risk_profile) or DEFAULT_PROFILE
    profile = RiskProfile.model_validate({**current.model_dump(), "max_weight": cap})
    _stored(wallet, profile)
    if cap is None:
        standard = formatting.percent(DEFAULT_CONFIG.max_weight, 0)
        return Reply(f"Max weight per token: the standard {standard}. Risk profile: "
                     f"{profile.describe()}. It applies from the next decision.")
    needed = OptimizerConfig(max_weight=cap).min_full_tokens()
    return Reply(f"Max weight per token: {formatting.percent(cap, 0)}. Risk profile: {profile.describe()}. "
                 f"Fully invested only with at least {formatting.counted(needed, 'eligible token')}; "
                 "with fewer, the rest stays in cash. It applies from the next decision "
                 "(/suggest shows it now).")


@handles("risk")
def risk(ctx: Ctx, cmd: Command) -> Reply:
    """Premium: choose the optimizer's risk profile (a preset, a target volatility, a max weight
    per token, or default)."""
    if cmd.args and cmd.args[0].lower() == "maxweight":
        return _max_weight(ctx, cmd.args)
    choice, volatility = _target(cmd.args)
    wallet = owned_wallet(ctx)
    check_custom_risk(wallet)
    if volatility is None:
        wallet.risk_profile = None
        return Reply("Risk profile: the default (maximum Sharpe ratio, standard max weight per token). "
                     "It applies from the next decision.")
    # The objective changes; a max weight chosen with /risk maxweight stays.
    current = profile_of(wallet.risk_profile) or DEFAULT_PROFILE
    profile = RiskProfile(kind="target_volatility", target_volatility=volatility,
                          max_weight=current.max_weight)
    _stored(wallet, profile)
    return Reply(f"Risk profile: {choice} — {profile.describe()}. It applies from the next decision "
                 "(/suggest shows it now).")
