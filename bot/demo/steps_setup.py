"""Demo steps: onboarding (attest, register, verify) and the platform report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bot.demo.state import DemoState
from core import ledger
from core.billing.revenue import revenue_by_plan
from core.compliance import agreement, applications, attestations, disclosures, identity, organisations
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
        application = applications.open_application(s, clock.now(), org, user)
        console.print(f"  {user.display_name} accepted disclosures {version} "
                      f"({len(attestations.given(s, user))} attestations); '{org.name}' applied "
                      f"(application #{application.id}, {application.provider} review)")
        doc = agreement.document_for(s, clock.now(), org, agreement.Signer(user, user.display_name or ""))
        agreement.agree(s, clock.now(), user, doc.id)
        path = Path(f"arena-demo-agreement-{doc.version}.pdf")
        path.write_bytes(doc.pdf)
        console.print(f"  the treasurer read the generated PMA agreement {doc.version} ({path}) and "
                      f"pressed Agree; its SHA-256 {doc.pdf_sha256[:16]}... is stored with the acceptance")
        applications.decide(s, clock.now(), admin, org.id, True, None)
        state.user_id, state.admin_id, state.org_id = user.id, admin.id, org.id
        state.summary["agreement_pdf"] = str(path.resolve())
        uow.commit()
    console.print(f"  organisation #{state.org_id} verified by a platform admin from the queue: the "
                  "treasurer may trade")


def step_report(state: DemoState, console: Console) -> None:
    """Print tokens, wallets, AUM, the insurance fund and the ledger check."""
    from bot.cli import plan_revenue_text, render_status

    with state.db.uow(read_only=True) as uow:
        tokens = queries.token_summaries(uow.session)
        wallets = [w for w in queries.wallet_summaries(uow.session) if w.wallet_id in state.wallets.values()]
        aum = queries.platform_aum(uow.session)
        insurance = queries.insurance_fund_balance(uow.session)
        fees = queries.fee_income_balance(uow.session)
        plans = revenue_by_plan(uow.session)
        violations = ledger.check_invariants(uow.session)
    render_status(tokens, wallets, aum, insurance, fees, out=console)
    console.print(plan_revenue_text(plans), highlight=False)
    console.print("ledger check: " + ("[green]OK[/]" if not violations else f"[red]{violations}[/]"))
    state.summary.update({
        "platform_aum": aum, "insurance_fund": insurance, "fee_income": fees, "ledger_ok": not violations,
        "plan_revenue": plans,
        "tokens": [t.symbol for t in tokens],
        "wallets": {w.name: {"mode": w.mode, "value": w.value,
                             "positions": {p.symbol: p.value for p in w.positions}} for w in wallets},
    })
