"""Demo steps for issue 14's money features: the monthly statement (PDF and CSV), the import bounty."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rich.console import Console

from bot.demo.state import DemoState
from bot.statement_cli import rates_for
from core import formatting
from core.config import get_settings
from core.statements import build_statement, previous_month, render_csv, render_pdf


def step_statement(state: DemoState, console: Console) -> None:
    """Write the church's statement for the last complete month, as `arena statement` does."""
    db = state.db
    month = previous_month(db.clock.now())
    with db.uow(read_only=True) as uow:
        data = build_statement(uow.session, state.org_id, month, uow.clock.now(), rates_for(get_settings()))
    files = {}
    for suffix, render in ((".pdf", render_pdf), (".csv", render_csv)):
        path = Path(f"arena-demo-statement-org{state.org_id}-{month}{suffix}")
        path.write_bytes(render(data))
        files[suffix[1:]] = str(path.resolve())
    perf = data.performance
    ret = "n/a" if perf.wallet is None else formatting.change(perf.wallet)
    console.print(
        f"  statement of {data.org_name} for {month}: opening {formatting.cash(data.opening.value)}, "
        f"closing {formatting.cash(data.closing.value)}, return {ret} "
        f"({formatting.count(sum(g.count for g in data.groups))} ledger movements in "
        f"{formatting.count(len(data.groups))} kinds)"
    )
    console.print(f"  saved to {files['pdf']} and {files['csv']} (chat: /statement {month})")
    state.summary["statement"] = {"month": month, **files}


def step_bounty(state: DemoState, console: Console) -> None:
    """The import bounty: the church is recorded as the submitter of the first tokenized write-up
    (as `/submit` would have done), the bounty is measured over the token's NAV marks and paid."""
    from sqlalchemy import select

    from core.bounty import bounty_report, record_submission_in
    from core.bounty.jobs import accrue_all, pay_all
    from core.models.pipeline import StrategyCandidate

    db = state.db
    with db.uow() as uow:
        row = uow.session.execute(
            select(StrategyCandidate.document_id, StrategyCandidate.token_symbol)
            .where(StrategyCandidate.token_id.is_not(None))
            .order_by(StrategyCandidate.id)
        ).first()
        if row is None:
            console.print("  no imported strategy became a token: no bounty to show")
            return
        record_submission_in(
            uow.session,
            uow.clock.now(),
            document_id=row[0],
            channel="chat",
            organisation_id=state.org_id,
            user_id=state.user_id,
        )
        uow.commit()
    accrued = accrue_all(db)
    paid = pay_all(db, previous_month(db.clock.now()))
    with db.uow(read_only=True) as uow:
        report = bounty_report(uow.session, state.org_id)
    earned = sum((t.earned for t in report.tokens), Decimal(0))
    console.print(
        f"  the church submitted {row[1]}'s write-up: 5% of its net gains to holders since it was born "
        f"earned {formatting.cash(earned)} from fee revenue, {formatting.cash(report.paid)} paid into its "
        f"wallet (chat: /bounties)"
    )
    state.summary["bounty"] = {
        "token": row[1],
        "earned": str(earned),
        "paid": str(report.paid),
        "funded": accrued["funded"],
        "payouts": paid["paid"],
    }
