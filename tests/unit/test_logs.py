"""Structured logs and no silent failures: JSON lines with fields, no secret ever in a log line, a
job run's record or the admins' alert; a job whose items fail ends partial or failed and says so."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.logs import configure_logging
from core.config import Settings, get_settings
from core.db import Database
from core.models.chat import JobRun
from scheduler.runs import FAILED_ITEMS, OK_ITEMS, error_text, outcome, run_once

TELEGRAM = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawZ"  # shaped like a bot token; not real
OPENAI = "sk-test-abcdefghijklmnopqrstuvwxyz012345"
WEBHOOK = "webhook-shared-secret-9f8e7d"
SECRETS = (TELEGRAM, OPENAI, WEBHOOK)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI)
    monkeypatch.setenv("ARENA_TELEGRAM_WEBHOOK_SECRET", WEBHOOK)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def captured(settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    handler = configure_logging(settings, level="INFO", stream=stream, json_lines=True)
    yield stream
    root.removeHandler(handler)
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_line_is_json_with_fields_and_no_secret(captured: io.StringIO) -> None:
    assert isinstance(get_settings().telegram_bot_token, SecretStr)
    log = logging.getLogger("arena.test")
    log.info("calling https://api.telegram.org/bot%s/sendMessage", TELEGRAM)
    log.warning("llm key %s rejected", OPENAI, extra={"job": "daily_import", "headers": {"auth": OPENAI}})
    try:
        raise RuntimeError(f"webhook secret {WEBHOOK} did not match; token {TELEGRAM}")
    except RuntimeError:
        log.exception("webhook failed", extra={"status": "failed"})
    text = captured.getvalue()
    for secret in SECRETS:
        assert secret not in text
    lines = _lines(captured)
    assert [line["level"] for line in lines] == ["INFO", "WARNING", "ERROR"]
    assert all(line["logger"] == "arena.test" and "time" in line for line in lines)
    assert lines[1]["job"] == "daily_import" and "[REDACTED]" in json.dumps(lines[1]["headers"])
    assert lines[2]["status"] == "failed" and "RuntimeError" in lines[2]["exc_info"]
    assert "[REDACTED]" in lines[0]["message"]


class _Alerts:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str) -> None:
        self.texts.append(text)


@dataclass(frozen=True)
class _Record:
    status: str
    detail: dict[str, Any] | None


def _run(db: Database, slot: datetime, body: Any, alerts: _Alerts) -> _Record:
    with contextlib.suppress(RuntimeError):  # re-raised after it is recorded; checked below
        run_once(db, "test_job", slot, body, alert=alerts)
    with db.uow(read_only=True) as uow:
        row = uow.session.scalars(select(JobRun).where(JobRun.scheduled_for == slot)).one()
        return _Record(row.status, row.detail)


def test_job_runs_record_failed_items_and_tell_admins(sqlite_db: Database, captured: io.StringIO) -> None:
    alerts = _Alerts()
    slot = datetime(2025, 1, 1, tzinfo=UTC)
    done = _run(sqlite_db, slot, lambda s: {FAILED_ITEMS: {}, OK_ITEMS: 3}, alerts)
    assert done.status == "done" and alerts.texts == []

    partial = _run(sqlite_db, slot.replace(hour=1),
                   lambda s: {FAILED_ITEMS: {"wallet:7": "LimitExceeded: too much"}, OK_ITEMS: 2}, alerts)
    assert partial.status == "partial"
    assert partial.detail is not None
    assert partial.detail[FAILED_ITEMS] == {"wallet:7": "LimitExceeded: too much"}
    assert "ended partial" in alerts.texts[-1] and "wallet:7: LimitExceeded: too much" in alerts.texts[-1]

    every = _run(sqlite_db, slot.replace(hour=2), lambda s: {FAILED_ITEMS: {"a": "x", "b": "y"}, OK_ITEMS: 0},
                 alerts)
    assert every.status == "failed" and "ended failed" in alerts.texts[-1]

    def explode(_slot: datetime) -> dict[str, Any]:
        raise RuntimeError(f"cannot reach https://api.telegram.org/bot{TELEGRAM}/getMe")

    raised = _run(sqlite_db, slot.replace(hour=3), explode, alerts)
    assert raised.status == "failed" and raised.detail is not None
    assert raised.detail["error"] == "RuntimeError" and "[REDACTED]" in raised.detail["message"]
    assert "failed: RuntimeError" in alerts.texts[-1]
    everything = json.dumps(raised.detail) + " ".join(alerts.texts) + captured.getvalue()
    assert TELEGRAM not in everything
    statuses = [line.get("status") for line in _lines(captured)]
    assert statuses == ["partial", "failed", "failed"]  # each non-done ending is logged, with its status


def test_outcome_and_error_text() -> None:
    assert outcome(None) == "done" and outcome({FAILED_ITEMS: {}}) == "done"
    assert outcome({FAILED_ITEMS: {"x": "e"}, OK_ITEMS: 1}) == "partial"
    assert outcome({FAILED_ITEMS: {"x": "e"}}) == "failed"
    assert error_text(ValueError("first line\nsecond")) == "ValueError: first line"
    assert error_text(KeyError()) == "KeyError"
    long = error_text(ValueError("x" * 1000), limit=50)
    assert len(long) == 50 and long.endswith("…")


class _BrokenEndpoint:
    """Stands in for the LangChain structured-output runnable: the endpoint fails, naming the key."""

    def invoke(self, _messages: object) -> object:
        raise ConnectionError(f"401 Unauthorized: incorrect API key provided: {OPENAI}")


class _NoToolCall:
    """An endpoint that answers, but never with a StrategySpec tool call."""

    def invoke(self, _messages: object) -> object:
        return {"raw": None, "parsed": None, "parsing_error": "no tool call"}


def _llm_parser(runnable: object) -> Any:
    from parser.llm import LLMParser

    parser: Any = LLMParser.__new__(LLMParser)  # the real parse loop around a stand-in endpoint
    parser.model, parser.model_name, parser.max_repairs = None, "fake-model", 2
    parser._structured = runnable
    return parser


def test_a_failed_llm_call_is_logged_without_the_key(captured: io.StringIO) -> None:
    result = _llm_parser(_BrokenEndpoint()).parse("Hold ETH while sma(50) > sma(200).", title="ETH trend")
    assert result.spec is None and result.rejection is not None
    assert result.rejection.startswith("LLM answer rejected: LLM call failed: ConnectionError")
    lines = [line for line in _lines(captured) if line["logger"] == "parser.llm"]
    assert [line["level"] for line in lines] == ["WARNING", "WARNING"]  # the call, then the rejection
    assert "call 1 for 'ETH trend' failed" in lines[0]["message"] and lines[0]["model"] == "fake-model"
    assert "ConnectionError" in lines[0]["exc_info"]
    assert "rejected after 1 attempt(s)" in lines[1]["message"]
    assert OPENAI not in captured.getvalue() and "[REDACTED]" in captured.getvalue()


def test_a_rejected_llm_answer_is_logged_once(captured: io.StringIO) -> None:
    result = _llm_parser(_NoToolCall()).parse("Hold ETH.", title="ETH")
    assert result.spec is None and result.usage.attempts == 3  # two repairs, then given up
    lines = [line for line in _lines(captured) if line["logger"] == "parser.llm"]
    assert len(lines) == 1 and "rejected after 3 attempt(s): no StrategySpec tool call" in lines[0]["message"]
