"""Demo steps: onboarding (attest, register, verify) and the platform report."""

from __future__ import annotations

from rich.console import Console

from bot.demo.state import DemoState
from core import ledger
from core.compliance import attestations, disclosures, identity, organisations
from core.ledger import queries
from core.models import OrgKind


def step_onboard(state: DemoState, console: Console) -> None:
    """A church treasurer attests and registers the church; a platform admin verifies it."""
    with state.db.uow() as uow:
        s, clock = uow.session, uow.clock
        base = int(state.run, 16) * 10
        user = identity.get_or_create_user(s, "console", base, f"Treasurer {state.run}", clock)
        admin = identity.get_or_create_user(s, "console", base + 1, "Platform admin", clock)
        version = disclosures.current().version
        for kind in attestations.missing(s, user):
            attestations.attest(s, user, kind, version, clock)
        org = organisations.register(s, user, OrgKind.CHURCH, f"Grace Chapel {state.run}", clock)
        console.print(f"  {user.display_name} accepted disclosures {version} "
                      f"({len(attestations.given(s, user))} attestations); '{org.name}' is pending")
        organisations.verify(s, admin, org.id, clock)
        state.user_id, state.admin_id, state.org_id = user.id, admin.id, org.id
        uow.commit()
    console.print(f"  organisation #{state.org_id} verified by a platform admin: the treasurer may trade")


def step_report(state: DemoState, console: Console) -> None:
    """Print tokens, wallets, AUM, the insurance fund and the ledger check."""
    from bot.cli import render_status

    with state.db.uow(read_only=True) as uow:
        tokens = queries.token_summaries(uow.session)
        wallets = [w for w in queries.wallet_summaries(uow.session) if w.wallet_id in state.wallets.values()]
        aum = queries.platform_aum(uow.session)
        insurance = queries.insurance_fund_balance(uow.session)
        fees = queries.fee_income_balance(uow.session)
        violations = ledger.check_invariants(uow.session)
    render_status(tokens, wallets, aum, insurance, fees, out=console)
    console.print("ledger check: " + ("[green]OK[/]" if not violations else f"[red]{violations}[/]"))
    state.summary.update({
        "platform_aum": aum, "insurance_fund": insurance, "fee_income": fees, "ledger_ok": not violations,
        "tokens": [t.symbol for t in tokens],
        "wallets": {w.name: {"mode": w.mode, "value": w.value,
                             "positions": {p.symbol: p.value for p in w.positions}} for w in wallets},
    })
