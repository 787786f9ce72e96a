"""Request and response bodies. Money, NAV and quantities are decimal strings (``"1000.50"``),
never JSON numbers, so no float ever touches an amount; the core parses them exactly."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DECIMAL = r"^[0-9]{1,30}(\.[0-9]{1,18})?$"
SYMBOL = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text, "content": {"application/problem+json": {}}}
    for status, text in (
        (400, "Bad request (e.g. a missing Idempotency-Key)"),
        (401, "No API key, or not a valid one"),
        (403, "Your role may not do this"),
        (404, "Not found (or not yours)"),
        (409, "Conflict: the request cannot be carried out now (cash, supply, halt, key reuse)"),
        (422, "Invalid request"),
        (429, "Rate limit exceeded (see Retry-After)"),
    )
}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuyBody(Body):
    amount: str = Field(pattern=DECIMAL, description="USD to spend, a decimal string", examples=["1000.00"])


class SellBody(Body):
    quantity: str = Field(
        pattern=r"^(all|[0-9]{1,30}(\.[0-9]{1,18})?)$",
        description="Token units to redeem (decimal string) or `all`",
        examples=["12.5"],
    )


class ModeBody(Body):
    mode: str = Field(pattern=r"^(full_ai|hybrid|manual)$", examples=["hybrid"])


class WalletCreateBody(Body):
    name: str | None = Field(None, min_length=1, max_length=200)


class TokenCreateBody(Body):
    symbol: str = Field(pattern=SYMBOL, examples=["STRAT-LENDING-USDC-002"])
    total_supply: str = Field(pattern=DECIMAL, description="Supply cap in token units", examples=["1000000"])
    name: str | None = Field(None, min_length=1, max_length=200)
    agent_id: int | None = Field(None, ge=1, le=2**31 - 1)
    status: str = Field("proving", pattern=r"^(proving|active)$")


class OrgBody(Body):
    kind: str = Field(pattern=r"^(church|church_trust|religious_organisation)$")
    name: str = Field(min_length=1, max_length=200)


class AttestBody(Body):
    kind: str = Field(min_length=1, max_length=40)


class HaltBody(Body):
    reason: str = Field("manual halt", min_length=1, max_length=300)


class Message(BaseModel):
    """A change carried out by a chat command: its reply text."""

    message: str


class TokenSummary(BaseModel):
    symbol: str
    name: str
    status: str
    nav_per_token: str
    aum: str
    total_supply: str
    circulating_supply: str
    remaining_supply: str
    benchmark_asset: str | None
    created_at: str


class NavPoint(BaseModel):
    date: str
    nav_per_token: str


class TokenInfo(TokenSummary):
    change_30d: str | None
    drawdown_from_peak: str | None
    peak_nav: str
    activated_at: str | None
    retired_at: str | None
    retire_reason: str | None
    nav_history: list[NavPoint]
    strategy: dict[str, Any] | None
    gate_report: dict[str, Any] | None


class TradeOut(BaseModel):
    side: str
    wallet_id: int
    symbol: str
    tokens: str
    cash: str
    nav_per_token: str
    model_config = ConfigDict(extra="allow")


class RedeemOut(BaseModel):
    wallet_id: int
    symbol: str
    redeemed_now: str
    cash_now: str
    queued: str
    request_id: int | None
    message: str


class Holding(BaseModel):
    symbol: str
    quantity: str
    reserved: str
    nav_per_token: str
    value: str
    avg_cost_basis: str


class WalletStatus(BaseModel):
    id: int
    name: str
    organisation_id: int | None
    mode: str
    tier: str
    cash: str
    cash_reserved: str
    holdings: list[Holding]
    total_value: str
    last_rebalanced_at: str | None


class TokenCreatedOut(BaseModel):
    token_id: int
    symbol: str
    total_supply: str
    nav_per_token: str
    status: str
    seed_tokens: str
    seed_cash: str


class WalletCreatedOut(BaseModel):
    wallet_id: int
    created: bool
    model_config = ConfigDict(extra="allow")


class ModeOut(BaseModel):
    wallet_id: int
    from_: str = Field(alias="from")
    to: str
    superseded_proposals: int
    message: str


class SuggestionOut(BaseModel):
    wallet_id: int
    mode: str
    snapshot_id: int
    summary: str
    reasons: dict[str, str]
    trades: list[dict[str, Any]]


class ProposalOut(BaseModel):
    id: int
    wallet_id: int
    status: str
    trigger: str
    summary: str
    trades: list[Any]
    created_at: str | None
    expires_at: str | None
    decided_at: str | None
    result: dict[str, Any] | None


class RebalanceOut(BaseModel):
    kind: str = Field(description="`proposal` (hybrid wallets) or `executed`")
    message: str
    proposal: ProposalOut | None


class DecisionOut(BaseModel):
    proposal_id: int
    status: str
    message: str
    trades: int


class CandidateOut(BaseModel):
    id: int
    state: str
    family: str | None
    primary_asset: str | None
    parser: str | None
    token_symbol: str | None
    reject_reason: str | None
    variants: int | None
    paper_mode: str | None
    updated_at: str | None


class CandidateDetail(CandidateOut):
    spec: dict[str, Any] | None
    backtest_metrics: dict[str, Any] | None
    paper_metrics: dict[str, Any] | None
    gate_report: dict[str, Any] | None
    unsupported_features: list[Any] | None


class PendingOrganisation(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    created_at: str | None
    members: int


class QueuedRedemption(BaseModel):
    id: int
    wallet_id: int
    symbol: str
    quantity: str
    requested_at: str | None
    available_on: str


class RiskOut(BaseModel):
    halted: bool
    halted_at: str | None
    halt_reason: str | None
    resumed_at: str | None
    trips: int
    redemption_queue: list[QueuedRedemption]


class AuditEntry(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any] | None


class JobRunOut(BaseModel):
    id: int
    job_id: str
    status: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    attempts: int
    detail: dict[str, Any] | None
