"""``arena orders`` and ``arena proof publish|show|verify`` (registered by ``bot.cli``)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from core.formatting import cash, datetime_text, nav, quantity

proof_app = typer.Typer(
    help="Proof of liabilities: publish the daily root, show or verify a proof.", no_args_is_help=True
)


def _day(text: str | None) -> date | None:
    from core.errors import ValidationError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--date must look like 2025-01-31, got {text!r}") from None


def register(app: typer.Typer) -> None:
    app.add_typer(proof_app, name="proof")

    @app.command()
    def orders(
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
        wallet: Annotated[int | None, typer.Option("--wallet", help="Only this wallet's orders.")] = None,
        closed: Annotated[
            bool, typer.Option("--all", help="Include filled, cancelled and expired orders.")
        ] = False,
    ) -> None:
        """Exchange orders (open ones by default), newest first."""
        from bot.cli_support import open_db
        from core.exchange import list_orders

        db = open_db()
        with db.uow(read_only=True) as uow:
            views = list_orders(uow.session, wallet_ids={wallet} if wallet else None, open_only=not closed)
        db.dispose()
        if json_output:
            typer.echo(json.dumps({"orders": [v.to_dict() for v in views]}))
            return
        if not views:
            typer.echo("No orders." if closed else "No open orders.")
        for v in views:
            typer.echo(
                f"#{v.order_id} wallet {v.wallet_id} {v.side} {quantity(v.remaining)}/{quantity(v.quantity)} "
                f"{v.symbol} @ {nav(v.price)} {v.status}"
                + (f", {cash(v.cash_reserved)} reserved" if v.cash_reserved else "")
                + f", expires {datetime_text(v.expires_at)}"
            )


@proof_app.command("publish")
def publish(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    day: Annotated[str | None, typer.Option("--date", help="Publication day (default: today, UTC).")] = None,
) -> None:
    """Build and store today's Merkle-sum root over every organisation wallet (once per day)."""
    from bot.cli_support import open_db
    from core.audit.liabilities import publish as do_publish

    db = open_db()
    try:
        root = do_publish(db, _day(day))
    finally:
        db.dispose()
    if json_output:
        typer.echo(json.dumps(root.to_dict()))
        return
    typer.echo(f"Proof of liabilities {root.as_of}: root {root.root}")
    typer.echo(f"{root.wallet_count} wallets; ledger chain head #{root.chain_seq} {root.chain_hash}")
    for asset, total in root.totals.items():
        shown = cash(_dec(total)) if asset.startswith("USD") else quantity(_dec(total))  # USD, USD:bounty
        typer.echo(f"  {asset}: {shown}")


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


@proof_app.command("show")
def show(
    wallet: Annotated[int, typer.Option("--wallet", help="The wallet whose inclusion proof to print.")],
    day: Annotated[str | None, typer.Option("--date", help="Publication day (default: the latest).")] = None,
) -> None:
    """Print a wallet's inclusion proof as JSON (redirect it: > proof.json)."""
    from bot.cli_support import open_db
    from core.audit.liabilities import proof_for

    db = open_db()
    try:
        with db.uow(read_only=True) as uow:
            proof = proof_for(uow.session, wallet, _day(day))
    finally:
        db.dispose()
    typer.echo(json.dumps(proof, indent=2))


@proof_app.command("verify")
def verify(
    proof_file: Annotated[
        Path, typer.Argument(help="A proof JSON file (from `arena proof show` or /proof).")
    ],
    root: Annotated[str, typer.Option("--root", help="The published root (64 hex digits).")],
) -> None:
    """Verify a proof offline against a published root: exit 0 when it holds, 1 with the reason."""
    from core.audit.merkle import verify as check

    try:
        proof = json.loads(proof_file.read_text())
    except (OSError, ValueError) as error:
        typer.echo(f"proof does not hold: cannot read {proof_file}: {error}", err=True)
        raise typer.Exit(1) from None
    verdict = check(proof, root)
    if not verdict.ok:
        typer.echo(f"proof does not hold: {verdict.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"proof holds: {verdict.reason}")
    for asset, balance in proof["balances"].items():
        typer.echo(f"  your {asset}: {balance} (platform total {verdict.totals.get(asset)})")
    sys.stdout.flush()
