"""Demo step for issue 14's money features: the organisation's monthly statement (PDF and CSV)."""

from __future__ import annotations

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
