"""Bodies of the business routes (issue 14): plans, risk profile, agreement, applications,
statements, bounties. Money is a decimal string (USD), never a JSON number."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from bot.web.schemas import Body

SAFE_TEXT = r"^[^<>`{}]*$"


class PlanBody(Body):
    plan: str = Field(pattern=r"^(free|basic|premium)$", examples=["basic"])


class PlanOption(BaseModel):
    plan: str
    name: str
    price_per_month: str
    limits: str


class PlanOut(BaseModel):
    wallet_id: int
    plan: str
    name: str
    price_per_month: str = Field(description="USD per calendar month, charged in advance")
    limits: str
    max_tokens: int | None
    tokens_held: int
    scheduled_plan: str | None
    scheduled_from: str | None
    unpaid_month: str | None
    plans: list[PlanOption]


class PlanChangeOut(PlanOut):
    message: str
    charged: str = Field(description="USD charged now (a prorated upgrade), else 0")


class RiskBody(Body):
    profile: str = Field(pattern=r"^(conservative|balanced|growth|default|volatility|maxweight)$")
    volatility_percent: int | None = Field(None, ge=5, le=50, description="With profile=volatility")
    max_weight_percent: int | None = Field(
        None, ge=5, le=20, description="With profile=maxweight: the cap per token (keeps the objective)"
    )

    @model_validator(mode="after")
    def _percent_only_for_its_profile(self) -> RiskBody:
        if (self.profile == "volatility") != (self.volatility_percent is not None):
            raise ValueError("volatility_percent is required with profile=volatility and only then")
        if (self.profile == "maxweight") != (self.max_weight_percent is not None):
            raise ValueError("max_weight_percent is required with profile=maxweight and only then")
        return self

    def args(self) -> tuple[str, ...]:
        """The chat command's arguments (``/risk volatility 12``, ``/risk maxweight 10``)."""
        percent = self.volatility_percent if self.volatility_percent is not None else self.max_weight_percent
        extra = () if percent is None else (str(percent),)
        return (self.profile, *extra)


class RiskOut(BaseModel):
    wallet_id: int
    plan: str
    custom_allowed: bool
    profile: dict[str, Any] | None


class AgreementOut(BaseModel):
    document_id: int
    version: str
    organisation_id: int
    organisation: str
    signer: str
    date: str
    pdf_sha256: str
    markdown_sha256: str
    accepted: bool
    can_accept: bool
    summary: str


class AcceptBody(Body):
    document_id: int = Field(ge=1, le=2**31 - 1)


class ApplicationBody(Body):
    """Fields of the organisation's pending application; at least one."""

    ein: str | None = Field(None, min_length=2, max_length=40, pattern=r"^[A-Za-z0-9 ./-]+$")
    trust: str | None = Field(None, min_length=1, max_length=200, pattern=SAFE_TEXT)
    trustees: str | None = Field(None, min_length=1, max_length=200, pattern=SAFE_TEXT,
                                 description="Names separated by commas or semicolons")
    legal: str | None = Field(None, min_length=1, max_length=200, pattern=SAFE_TEXT)

    @model_validator(mode="after")
    def _one_field(self) -> ApplicationBody:
        if not self.fields():
            raise ValueError("send at least one of ein, trust, trustees, legal")
        return self

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ApplicationOut(BaseModel):
    id: int
    organisation_id: int
    organisation: str
    organisation_status: str
    kind: str
    kind_text: str
    legal_name: str
    registration_ref: str | None
    trust_name: str | None
    trustees: list[str]
    signer_attestation_sha256: str
    status: str
    provider: str
    agreement_accepted: bool
    created_at: str | None
    decided_at: str | None
    reason: str | None


class DenyBody(Body):
    reason: str = Field(min_length=3, max_length=500, pattern=r"\S")


class SubmitBody(Body):
    """A strategy to import, credited to your organisation (the import bounty): a URL or a text."""

    url: str | None = Field(None, min_length=8, max_length=1000, examples=["https://example.org/strategy"])
    text: str | None = Field(None, min_length=40, max_length=20_000)

    @model_validator(mode="after")
    def _exactly_one(self) -> SubmitBody:
        if (self.url is None) == (self.text is None):
            raise ValueError("send exactly one of url and text")
        return self


class TokenBountyOut(BaseModel):
    symbol: str
    window_ends_at: str | None
    earned: str
    funded: str


class BountiesOut(BaseModel):
    submissions: int
    accrued: str = Field(description="USD funded and not yet paid")
    unfunded: str
    paid: str
    tokens: list[TokenBountyOut]
