"""Jinja2 rendering for the dashboard: one environment, autoescaped, with filters that show every
number through ``core.formatting`` (templates never format a number themselves)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core import formatting
from core.commands.cards import metric_label

TEMPLATES = Path(__file__).with_name("templates")
#: Every page: nothing from another origin (no script at all), never framed, never cached (pages
#: show balances and carry the session's CSRF token), no referrer (a sign-in link is in a URL).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _when(value: date | datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # an ISO 8601 timestamp from a JSON view (core.commands.api_business)
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return formatting.datetime_text(value)
    return formatting.date_text(value)


def _maybe(fn: Any) -> Any:
    def wrapped(value: Any, *args: Any, **kwargs: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, str):
            value = Decimal(value)
        return str(fn(value, *args, **kwargs))

    return wrapped


def _metric(name: str, value: Any) -> str:
    """A stored backtest/paper metric: fractions as percent, ratios with two decimals, counts."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if not isinstance(value, int | float | Decimal):
        return str(value)
    lowered = name.lower()
    if "drawdown" in lowered:  # a loss from the peak: shown non-positive, as everywhere else
        return formatting.drawdown(value)
    if any(k in lowered for k in ("return", "drawdown", "cagr", "volatility", "vol", "exposure", "rate")):
        return formatting.percent(value)
    if isinstance(value, int) or "days" in lowered or "trades" in lowered or lowered.startswith("n_"):
        return formatting.count(int(value))
    return formatting.ratio(value)


def _plan_name(tier: Any) -> str:
    """``basic`` -> ``Basic``: the plan as chat's /plan names it."""
    from core.billing.plans import PLANS
    from core.models import Tier

    return PLANS[Tier(str(getattr(tier, "value", tier)))].name


def make_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update({
        "cash": _maybe(formatting.cash),
        "nav": _maybe(formatting.nav),
        "pct": _maybe(formatting.percent),
        "change": _maybe(formatting.change),
        "drawdown": _maybe(formatting.drawdown),
        "qty": _maybe(formatting.quantity),
        "units": _maybe(lambda v: formatting.quantity(v, 0)),
        "count": lambda v: formatting.count(int(v or 0)),
        "ratio": _maybe(formatting.ratio),
        "when": _when,
        "metric": _metric,
        "metric_label": metric_label,
        "mode_name": formatting.mode_name,
        "plan_name": _plan_name,
    })
    return env


class Renderer:
    """Renders a template with what every page needs (viewer, CSRF field, a fresh form nonce)."""

    def __init__(self) -> None:
        self.env = make_environment()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("viewer", None)
        context.setdefault("csrf", "")
        context.setdefault("note", request.query_params.get("note", "")[:1500])
        context["nonce"] = secrets.token_hex(8)
        context["path"] = request.url.path
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
