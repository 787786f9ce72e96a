"""Platform-admin pages: overview, tokens, organisations (verification queue), wallets, import
candidates, risk, job runs, audit log; and their actions (verify / reject an organisation, halt /
resume trading). Reads go through ``core.reports``; actions through the chat commands
(``/verify``, ``/deny``, ``/halt``, ``/resume``)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bot.web.dashboard import auth
from bot.web.dashboard.actions import run_command
from bot.web.dashboard.deps import Deps, back_to, guarded
from bot.web.dashboard.treasurer_pages import treasurer_page
from core.commands import api_business
from core.commands.handlers.market import gate_report_lines
from core.compliance import organisations as orgs
from core.reports import admin as admin_reports
from core.reports import platform, tokens, wallets


def add_admin_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/dashboard", include_in_schema=False)
    @guarded(deps)
    def home(request: Request) -> Response:
        viewer = deps.viewer(request)
        if viewer is None:
            return deps.page(request, "signin.html", None)
        if not viewer.is_platform_admin:
            return treasurer_page(deps, request, viewer)
        with deps.db.uow(read_only=True) as uow:
            summary = platform.overview(uow.session)
            pending = orgs.pending_count(uow.session)
            series = platform.platform_aum_series(uow.session)
        return deps.page(request, "overview.html", viewer, o=summary, pending=pending, marks=len(series))

    @router.get("/dashboard/tokens", include_in_schema=False)
    @guarded(deps)
    def token_table(request: Request) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            rows = tokens.token_rows(uow.session)
        return deps.page(request, "tokens.html", viewer, rows=rows, base="/dashboard/tokens")

    @router.get("/dashboard/tokens/{symbol}", include_in_schema=False)
    @guarded(deps)
    def token_page(request: Request, symbol: str) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            detail = tokens.token_detail(uow.session, symbol.upper())
        return deps.page(request, "token.html", viewer, t=detail, admin=True,
                         gate_lines=gate_report_lines(detail.gate_report),
                         chart=f"/dashboard/charts/tokens/{detail.row.symbol}.png")

    @router.get("/dashboard/organisations", include_in_schema=False)
    @guarded(deps)
    def organisation_list(request: Request) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            rows = admin_reports.organisations(uow.session)
            applications = {a["organisation_id"]: a for a in api_business.pending_applications(uow.session)}
        return deps.page(request, "organisations.html", viewer, rows=rows, applications=applications)

    @router.post("/dashboard/organisations/{org_id}/verify", include_in_schema=False)
    @guarded(deps)
    def verify(request: Request, org_id: int, csrf: str = Form(""), nonce: str = Form("")) -> Response:
        auth.check_csrf(request, csrf)
        viewer = deps.admin(request)
        text = run_command(deps.layer, viewer, "verify", (str(org_id),), nonce)
        return back_to("/dashboard/organisations", text)

    @router.post("/dashboard/organisations/{org_id}/reject", include_in_schema=False)
    @guarded(deps)
    def reject(request: Request, org_id: int, csrf: str = Form(""), reason: str = Form(""),
               nonce: str = Form("")) -> Response:
        """The gateway's rejection (``/deny ORG REASON``: audited, the members are told)."""
        auth.check_csrf(request, csrf)
        viewer = deps.admin(request)
        if not reason.strip():
            return back_to("/dashboard/organisations", "Rejecting needs a reason the organisation will read.")
        text = run_command(deps.layer, viewer, "deny", (str(org_id), *reason.split()), nonce)
        return back_to("/dashboard/organisations", text)

    @router.get("/dashboard/wallets", include_in_schema=False)
    @guarded(deps)
    def wallet_list(request: Request) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            views = wallets.all_wallets(uow.session)
        return deps.page(request, "wallets.html", viewer, views=views)

    @router.get("/dashboard/candidates", include_in_schema=False)
    @guarded(deps)
    def candidates(request: Request) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            board = admin_reports.candidate_board(uow.session)
        return deps.page(request, "candidates.html", viewer, board=board)

    add_risk_routes(router, deps)
    add_log_routes(router, deps)


def add_risk_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/dashboard/risk", include_in_schema=False)
    @guarded(deps)
    def risk(request: Request) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            page = platform.risk_page(uow.session)
        return deps.page(request, "risk.html", viewer, r=page)

    @router.post("/dashboard/risk/halt", include_in_schema=False)
    @guarded(deps)
    def halt(
        request: Request, csrf: str = Form(""), nonce: str = Form(""), reason: str = Form("")
    ) -> Response:
        auth.check_csrf(request, csrf)
        viewer = deps.admin(request)
        words = tuple(" ".join(reason.split())[:200].split()) or ("manual", "halt", "(dashboard)")
        return back_to("/dashboard/risk", run_command(deps.layer, viewer, "halt", words, nonce))

    @router.post("/dashboard/risk/resume", include_in_schema=False)
    @guarded(deps)
    def resume(request: Request, csrf: str = Form(""), nonce: str = Form("")) -> Response:
        auth.check_csrf(request, csrf)
        viewer = deps.admin(request)
        return back_to("/dashboard/risk", run_command(deps.layer, viewer, "resume", (), nonce))


def add_log_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/dashboard/jobs", include_in_schema=False)
    @guarded(deps)
    def jobs(request: Request, failures: bool = False) -> Response:
        viewer = deps.admin(request)
        with deps.db.uow(read_only=True) as uow:
            runs = admin_reports.job_runs(uow.session, failures_only=failures)
        return deps.page(request, "jobs.html", viewer, runs=runs, failures=failures)

    @router.get("/dashboard/audit", include_in_schema=False)
    @guarded(deps)
    def audit(
        request: Request, action: str = "", actor: str = "", subject: str = "", limit: int = 200
    ) -> Response:
        viewer = deps.admin(request)
        wanted = admin_reports.AuditFilter(
            action.strip()[:80], actor.strip()[:120], subject.strip()[:120], limit
        )
        with deps.db.uow(read_only=True) as uow:
            entries = admin_reports.audit_log(uow.session, wanted)
            actions = admin_reports.audit_actions(uow.session)
        return deps.page(request, "audit.html", viewer, entries=entries, actions=actions, f=wanted)
