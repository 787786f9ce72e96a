"""What people read about a hybrid proposal: its card (with Approve / Reject) and its outcome.

The card shows the target allocation, the trades it implies, the optimizer's reasons and the
equal-weight alternative, all from the stored :class:`AllocationSnapshot` (so ``/proposals`` shows
exactly what was proposed). Every number goes through :mod:`core.formatting`. Weights are decimal
fractions (0.2 = 20 %), cash in USD, quantities in token units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from core import formatting
from core.commands.types import Button, Reply
from core.models import AllocationSnapshot
from core.models.wallets_ext import RebalanceProposal

#: How many of the optimizer's reasons a card shows (the rest are in the stored snapshot).
MAX_REASONS = 5
REASON_WIDTH = 150

TRIGGERS = {
    "initial": "first allocation",
    "weekly": "weekly rebalance",
    "drift": "drift from target",
    "suggest": "asked for with /suggest",
    "rebalance": "asked for with /rebalance",
}


def buttons_for(proposal_id: int) -> list[list[Button]]:
    return [[Button("Approve", f"proposal approve {proposal_id}"),
             Button("Reject", f"proposal reject {proposal_id}")]]


def allocation_line(weights: Mapping[str, Any], cash_weight: Any) -> str:
    """``STRAT-A 20.0%, STRAT-B 12.5%, cash 67.5%`` (largest first)."""
    parts = sorted(((str(s), Decimal(str(w))) for s, w in weights.items()), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{symbol} {formatting.percent(weight, 1)}" for symbol, weight in parts if weight > 0]
    shown.append(f"cash {formatting.percent(Decimal(str(cash_weight)), 1)}")
    return ", ".join(shown)


def trade_line(trade: Mapping[str, Any]) -> str:
    """One planned or executed trade, or a planner's note."""
    if "side" not in trade:
        return f"- note: {trade.get('note', '')}"
    cash = formatting.cash(Decimal(str(trade["cash"])))
    reason = f" ({trade['reason']})" if trade.get("reason") else ""
    if trade["side"] == "redeem":
        units = formatting.quantity(Decimal(str(trade["quantity"])))
        return f"- redeem {units} {trade['symbol']} for about {cash}{reason}"
    return f"- buy {trade['symbol']} for {cash}{reason}"


def trade_lines(trades: Iterable[Mapping[str, Any]], *, notes: bool = True) -> list[str]:
    return [trade_line(t) for t in trades if notes or "side" in t]


def _reasons(reasons: Mapping[str, Any]) -> list[str]:
    ordered = sorted(reasons.items(), key=lambda kv: (str(kv[1]).startswith("out"), kv[0]))
    lines = [f"- {symbol}: {formatting.shorten(str(why), REASON_WIDTH)}"
             for symbol, why in ordered[:MAX_REASONS]]
    if len(ordered) > MAX_REASONS:
        lines.append(f"- and {formatting.count(len(ordered) - MAX_REASONS)} more tokens considered")
    return lines


def decision_lines(snapshot: AllocationSnapshot, trades: list[dict[str, Any]]) -> list[str]:
    """Target, equal-weight alternative, implied trades and reasons of one stored decision."""
    lines = [f"Target allocation: {allocation_line(snapshot.weights or {}, snapshot.cash_weight)}"]
    equal = snapshot.equal_weight or {}
    if equal.get("weights") is not None:
        lines.append("Equal-weight alternative: "
                     + allocation_line(equal["weights"], equal.get("cash_weight", "0")))
    if any("side" in t for t in trades):
        lines.append("Trades it implies (at today's NAV):")
    else:
        lines.append("No trades are needed: the wallet is already close enough to this target.")
    lines += trade_lines(trades)
    if snapshot.reasons:
        lines.append("Why:")
        lines += _reasons(snapshot.reasons)
    return lines


def proposal_card(proposal: RebalanceProposal, snapshot: AllocationSnapshot, wallet_name: str) -> Reply:
    """The proposal as posted to the owners and listed by /proposals, with its buttons."""
    trigger = TRIGGERS.get(proposal.trigger, proposal.trigger)
    lines = [
        f"Proposal #{proposal.id} for {wallet_name} ({trigger}); "
        f"expires {formatting.datetime_text(proposal.expires_at)}.",
        *decision_lines(snapshot, list(proposal.trades)),
        "Approve to trade now, or Reject to keep the wallet as it is.",
    ]
    return Reply("\n".join(lines), buttons=buttons_for(proposal.id))


NEXT_STEP = {
    "manual": "Manual mode: /rebalance makes these trades after you confirm; or /buy and /sell "
              "yourself.",
    "full_ai": "Full-AI mode: the wallet makes these trades by itself at its next rebalance; "
               "/rebalance does it now.",
    "hybrid": "Hybrid mode: /rebalance turns this into a proposal to approve.",
}


def suggestion_text(wallet_name: str, mode: str, snapshot: AllocationSnapshot,
                    trades: list[dict[str, Any]]) -> str:
    """A suggestion (never executed) for a manual or full-AI wallet."""
    step = NEXT_STEP.get(mode, "")
    if (snapshot.inputs or {}).get("tier") == "free":  # the Free plan: no optimizer trading
        step = ("Free plan (manual only): make these trades yourself with /buy and /sell, or choose "
                "an AI plan with /plan to have /rebalance or the AI modes do it.")
    lines = [f"Suggestion for {wallet_name} (nothing was traded):",
             *decision_lines(snapshot, trades), step]
    return "\n".join(line for line in lines if line)


def executed_text(proposal_id: int, trades: list[dict[str, Any]], costs: Decimal) -> str:
    """What an approval did: each trade at its executed amount, or why nothing was needed."""
    done = [t for t in trades if "side" in t]
    if not done:
        notes = [f"- {t['note']}" for t in trades if "note" in t]
        return "\n".join([f"Approved proposal #{proposal_id}: no trade was needed; the wallet is "
                          "already close enough to the target.", *notes])
    lines = [f"Approved proposal #{proposal_id}: {formatting.counted(len(done), 'trade')} executed."]
    for trade in done:
        units = formatting.quantity(Decimal(str(trade["quantity"])))
        cash = formatting.cash(Decimal(str(trade["cash"])))
        if trade["side"] == "redeem":
            lines.append(f"- redeemed {units} {trade['symbol']} for {cash}")
        else:
            lines.append(f"- bought {units} {trade['symbol']} for {cash}")
    lines += [f"- note: {t['note']}" for t in trades if "note" in t]
    lines.append(f"Trading costs: {formatting.cash(costs)}. See /wallet.")
    return "\n".join(lines)


__all__ = ["allocation_line", "buttons_for", "decision_lines", "executed_text", "proposal_card",
           "suggestion_text", "trade_line", "trade_lines"]
