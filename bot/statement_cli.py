"""``arena statement --org ID --month YYYY-MM --out FILE.pdf|FILE.csv`` (registered by ``bot.cli``),
and the T-bill series statements compare against (:func:`rates_for`, also wired into chat).

The rates come from ``backtest.data.riskfree`` (the one reader of rate files): ``--risk-free FILE``,
else the data folder's series (``ARENA_DATA_DIR``); the built-in synthetic market has none, and
the statement says "none (synthetic market): 0 %".
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import typer

from core.config import Settings
from core.statements.performance import RiskFreeRates, zero_rates


@lru_cache(maxsize=4)
def _rates_from(data_dir: str | None, risk_free_file: str | None) -> RiskFreeRates:
    from backtest.data.riskfree import folder_risk_free, read_risk_free_file

    if risk_free_file:
        series = read_risk_free_file(risk_free_file)
    elif data_dir:
        found = folder_risk_free(Path(data_dir))
        if found is None:
            return zero_rates(f"none (no risk-free series in {data_dir}): 0 %")
        series = found
    else:
        return zero_rates()
    yields = {ts.date(): Decimal(repr(float(v))) for ts, v in series.yields.items() if v == v}
    return RiskFreeRates(series.name, yields, series.convention)


def rates_for(settings: Settings, risk_free_file: str | None = None) -> RiskFreeRates:
    """The risk-free yields for statements (read once per process and source)."""
    return _rates_from(settings.data_dir, risk_free_file)


def register(app: typer.Typer) -> None:
    @app.command()
    def statement(
        org: Annotated[int, typer.Option("--org", help="Organisation id.")],
        month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (the current one: to date).")],
        out: Annotated[Path, typer.Option("--out", help="Output file: .pdf or .csv.")],
        risk_free: Annotated[
            str | None, typer.Option("--risk-free", help="T-bill CSV (FRED DTB3 or date,rate).")
        ] = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Write an organisation's monthly statement (PDF or CSV) from the ledger."""
        from bot.cli_support import open_db
        from core.config import get_settings
        from core.errors import ValidationError
        from core.formatting import cash
        from core.statements import build_statement, render_csv, render_pdf

        suffix = out.suffix.lower()
        if suffix not in (".pdf", ".csv"):
            raise ValidationError(f"--out must end in .pdf or .csv, got {out.name!r}")
        if not out.parent.is_dir():
            raise ValidationError(f"folder {out.parent} does not exist")
        rates = rates_for(get_settings(), risk_free)
        db = open_db()
        try:
            with db.uow(read_only=True) as uow:
                data = build_statement(uow.session, org, month, db.clock.now(), rates)
        finally:
            db.dispose()
        out.write_bytes(render_pdf(data) if suffix == ".pdf" else render_csv(data))
        if json_output:
            typer.echo(
                json.dumps(
                    {
                        "ok": True,
                        "file": str(out),
                        "org": org,
                        "month": month,
                        "opening_value": format(data.opening.value, "f"),
                        "closing_value": format(data.closing.value, "f"),
                    }
                )
            )
        else:
            typer.echo(
                f"Statement of {data.org_name} for {month}: opening {cash(data.opening.value)}, "
                f"closing {cash(data.closing.value)} -> {out}"
            )
