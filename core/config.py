"""Settings from the environment (``ARENA_*``), secrets as ``SecretStr``.

Nothing here has a default secret: bot tokens and the LLM key are ``None`` until the environment
provides them, and the parts that need them refuse to start without them (see :func:`require`).
Fractions are decimal fractions (0.01 = 1 %); durations are in the unit their name says.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_DB_URL = "sqlite:///arena.db"


class Settings(BaseSettings):
    """Everything configurable. Read once per process through :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="ARENA_", extra="ignore", frozen=True)

    db_url: str = DEFAULT_DB_URL
    data_dir: str | None = None  # folder of real price/rate CSVs; None = built-in seeded market

    # Secrets: no defaults, never logged (SecretStr hides them in repr/str).
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "ARENA_TELEGRAM_BOT_TOKEN")
    )
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "0.0.0.0"  # behind a load balancer / reverse proxy
    telegram_webhook_port: int = 8443
    discord_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_BOT_TOKEN", "ARENA_DISCORD_BOT_TOKEN")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ARENA_OPENAI_API_KEY")
    )
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    # Sources the daily import job crawls: names from parser/sources.toml, comma-separated, or "all".
    # Empty (the offline default) = the job only resumes candidates already in the pipeline.
    import_sources: str = ""

    # Platform admins: comma-separated "platform:numeric_id", e.g. "telegram:12345,discord:678".
    platform_admins: str = ""

    # Fees (fractions). Management is per year, accrued pro rata by elapsed time.
    management_fee_rate: Decimal = Decimal("0.01")
    performance_fee_rate: Decimal = Decimal("0.10")
    insurance_fee_share: Decimal = Decimal("0.05")
    token_seed_cash: Decimal = Decimal("100")  # platform seed per token so the first buyer is not diluted
    default_total_supply: Decimal = Decimal("10000000")

    # Quality gate (from the product brief).
    gate_min_days: int = 180
    gate_min_sharpe: float = 1.5
    gate_max_drawdown: float = 0.15
    paper_days: int = 30
    # The gate's further checks (issue 9): deflated Sharpe with the real trial count, walk-forward
    # (in-sample choice judged on the following unseen share of the window) and PBO (CSCV).
    gate_min_dsr: float = 0.95
    gate_min_oos_sharpe: float = 0.0  # out-of-sample excess Sharpe must beat T-bills
    gate_oos_fraction: float = 0.3
    gate_max_pbo: float = 0.5
    gate_pbo_partitions: int = 16
    max_variants_per_text: int = 200
    # Issue 15: also try risk-managed versions (volatility target, T-bill leg) of market strategies.
    import_risk_variants: bool = True
    # A token whose price/rate data stopped this many days before the marked day is stale.
    stale_after_days: int = 3

    # Platform risk.
    kill_switch_drawdown: Decimal = Decimal("0.20")
    circuit_breaker_loss: Decimal = Decimal("0.10")
    redemption_daily_limit: Decimal = Decimal("0.10")
    max_token_weight: float = 0.20
    drift_threshold: float = 0.10

    # Internal exchange (holder to holder). Fee: fraction of a fill's cash, paid by the buyer.
    exchange_fee_rate: Decimal = Decimal("0")
    exchange_price_band: Decimal = Decimal("0.05")  # orders further than this from NAV are refused
    exchange_order_days: int = 7  # default expiry of an order
    exchange_min_order_cash: Decimal = Decimal("1")  # smallest order value (quantity x price), USD

    # `arena serve` (durations in seconds unless the name says otherwise).
    telegram_base_url: str | None = None  # Bot API server (a local one); None = Telegram's
    discord_api_base: str | None = None  # Discord REST base URL (a local one); None = Discord's
    shutdown_grace_s: float = 30.0  # SIGTERM: finish runs in flight and flush, then exit 0
    standby_poll_s: float = 5.0  # a standby scheduler checks the lock this often
    job_lease_s: float = 60.0  # a running job's claim lives this long unrenewed (owner dead)
    outbox_lease_s: float = 60.0  # a claimed message's lease (sender dead -> another sends it)
    outbox_retention_days: int = 14  # sent/failed outbox rows are deleted after this many days
    health_port: int | None = None  # serve's GET /healthz on 127.0.0.1:PORT; None = off
    # REST API (issue 12): per-key rate limit in the ``limits`` notation ("120/minute"; anonymous
    # callers are limited per client address) and whether `arena serve` starts the HTTP services.
    api_rate_limit: str = "120/minute"
    http: bool = False
    http_host: str = "127.0.0.1"
    http_port_base: int = 8800  # exchange; optimizer +1, importer +2, compliance +3, dashboard +4
    clock: str | None = None  # drills/tests: a fixed ISO UTC time for the business clock

    # Web dashboard: the address its one-time login links point at (what a browser opens), and
    # how long a signed-in session lasts.
    dashboard_url: str = "http://127.0.0.1:8804"
    dashboard_session_hours: int = 8


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def require(value: SecretStr | None, name: str) -> str:
    """Return a secret's value or fail with a message naming the variable to set."""
    if value is None or not value.get_secret_value().strip():
        raise ConfigError(f"{name} is not set; export it in the environment to enable this feature")
    return value.get_secret_value()
