"""Public pages (no sign-in): strategy tokens with their performance and the latest proof of
liabilities, one token's page with its chart and gate report, and the methodology. Candidate
tokens (not yet public) are not shown."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.web.dashboard import charts
from bot.web.dashboard.deps import Deps, guarded
from core.audit.liabilities import PublishedRoot, published_root
from core.commands.handlers.market import gate_report_lines
from core.formatting import date_text
from core.models import CASH_ASSET
from core.reports import platform, tokens


def token_chart(deps: Deps, symbol: str, *, public: bool) -> Response:
    with deps.db.uow(read_only=True) as uow:
        detail = tokens.token_detail(uow.session, symbol.upper(), public=public)
    lines = [(f"{detail.row.symbol} NAV", detail.nav_series)]
    if detail.benchmark_series and detail.benchmark_asset:
        lines.append((f"Benchmark ({detail.benchmark_asset} held)", detail.benchmark_series))
    elif detail.benchmark_series:
        lines.append(("Benchmark", detail.benchmark_series))
    if detail.tbill_series:
        lines.append(("3-month T-bill (gate's mean rate)", detail.tbill_series))
    png = charts.line_chart(f"{detail.row.symbol}: NAV per token", lines, money=False)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def proof_view(root: PublishedRoot | None) -> dict[str, Any] | None:
    """The latest proof of liabilities as the public page shows it (GET /api/proof/latest's data)."""
    if root is None:
        return None
    return {
        "as_of": date_text(root.as_of),
        "root": root.root,
        "wallets": root.wallet_count,
        "cash": Decimal(root.totals.get(CASH_ASSET, "0")),
        "tokens": [(a, Decimal(root.totals[a])) for a in root.assets if a != CASH_ASSET],
        "chain": root.chain_seq,
    }


def add_public_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/performance", include_in_schema=False)
    @guarded(deps)
    def performance(request: Request) -> Response:
        with deps.db.uow(read_only=True) as uow:
            rows = tokens.token_rows(uow.session, public=True)
            proof = proof_view(published_root(uow.session))
        return deps.page(request, "tokens.html", deps.viewer(request), rows=rows, base="/performance",
                         public=True, proof=proof)

    @router.get("/performance/{symbol}", include_in_schema=False)
    @guarded(deps)
    def performance_token(request: Request, symbol: str) -> Response:
        with deps.db.uow(read_only=True) as uow:
            detail = tokens.token_detail(uow.session, symbol.upper(), public=True)
        return deps.page(request, "token.html", deps.viewer(request), t=detail, admin=False, public=True,
                         gate_lines=gate_report_lines(detail.gate_report),
                         chart=f"/performance/{detail.row.symbol}/chart.png")

    @router.get("/performance/{symbol}/chart.png", include_in_schema=False)
    @guarded(deps)
    def public_chart(request: Request, symbol: str) -> Response:
        return token_chart(deps, symbol, public=True)

    @router.get("/methodology", include_in_schema=False)
    @guarded(deps)
    def methodology(request: Request) -> Response:
        return deps.page(request, "methodology.html", deps.viewer(request), public=True, s=deps.settings)

    @router.get("/dashboard/charts/tokens/{symbol}.png", include_in_schema=False)
    @guarded(deps)
    def admin_token_chart(request: Request, symbol: str) -> Response:
        deps.admin(request)
        return token_chart(deps, symbol, public=False)

    @router.get("/dashboard/charts/platform.png", include_in_schema=False)
    @guarded(deps)
    def platform_chart(request: Request) -> Response:
        deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            series = platform.platform_aum_series(uow.session)
        png = charts.line_chart("Platform AUM (sum of token pools, after each daily mark)",
                                [("AUM", series)], money=True)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/", include_in_schema=False)
    def slash() -> Response:
        return RedirectResponse("/dashboard", status_code=307)
