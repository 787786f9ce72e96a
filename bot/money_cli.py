"""``arena distribution SYMBOL accumulate|distribute`` and ``arena distribute`` (registered by
``bot.cli``): a token's distribution policy, and paying a month's distributions now (what the
``monthly_distributions`` job does on the 1st)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def distribution(
        symbol: Annotated[str, typer.Argument(help="Token symbol, e.g. STRAT-LENDING-USDC-001.")],
        policy: Annotated[str, typer.Argument(help="accumulate (default) or distribute.")],
        include_gains: Annotated[
            bool, typer.Option("--include-gains", help="Also pay gains above the high-water mark.")
        ] = False,
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Set a token's distribution policy (switching on sets its base to today's NAV)."""
        import uuid

        from bot.cli_support import open_db
        from core.distributions import set_policy
        from core.formatting import nav

        db = open_db()
        try:
            row = set_policy(
                db.uow(),
                symbol,
                policy,
                include_gains=include_gains,
                idempotency_key=f"cli-policy-{uuid.uuid4().hex}",
            )
        finally:
            db.dispose()
        if json_output:
            typer.echo(json.dumps(row))
        else:
            gains = " (gains above the high-water mark included)" if row["include_gains"] else ""
            base = nav(Decimal(row["base_nav"]))
            typer.echo(f"{row['symbol']} now {row['policy']}s{gains}; distribution base {base}")

    @app.command()
    def distribute(
        month: Annotated[
            str, typer.Option("--month", help="The month paid, YYYY-MM (default: last month).")
        ] = "",
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Pay every distributing token's distribution for a month now (once per token and month)."""
        from bot.cli_support import open_db
        from core.distributions import distribute as pay
        from core.distributions import distributing_symbols
        from core.formatting import cash, count, nav
        from core.statements import parse_month, previous_month

        db = open_db()
        try:
            period = month or previous_month(db.clock.now())
            parse_month(period)
            with db.uow(read_only=True) as uow:
                symbols = distributing_symbols(uow.session)
            results = {s: pay(db.uow(), s, period) for s in symbols}
        finally:
            db.dispose()
        if json_output:
            typer.echo(
                json.dumps(
                    {
                        "period": period,
                        "tokens": {s: None if r is None else r.to_dict() for s, r in results.items()},
                    }
                )
            )
            return
        if not results:
            typer.echo("No token distributes.")
        for s, r in results.items():
            if r is None:
                typer.echo(
                    f"{s}: nothing to pay (its strategy is not an income strategy; see --include-gains)"
                )
            else:
                done = " (already paid)" if r.already else ""
                typer.echo(
                    f"{s} {period}: {cash(r.amount)} to {count(r.holders)} holders, "
                    f"{nav(r.per_unit)} per unit, NAV {nav(r.nav_before)} -> {nav(r.nav_after)}{done}"
                )
