"""``LLMParser``: a LangChain chat model with structured output (tool calling) into StrategySpec.

Configuration (``core.config.Settings``): ``OPENAI_API_KEY``, ``ARENA_LLM_BASE_URL`` (any
OpenAI-compatible server: OpenAI, Ollama, vLLM), ``ARENA_LLM_MODEL``. Prompt templates live in
``prompts/``; their SHA-256 together with the spec's JSON schema is the *prompt version* stored on
every parse. The source text is cleaned by :mod:`parser.guard` and fenced as data. The model's
answer is validated with :func:`core.spec.load_spec` and the guard rails; a failure is fed back to
the model at most ``max_repairs`` (2) times. Token usage and the model name are recorded. A failed
call and a rejected answer are logged (one warning each, secrets redacted by the log formatter) and
returned as a rejection, which the import pipeline stores on the candidate.

The model never writes code; its output is a JSON object validated against a closed schema.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from core.config import Settings, get_settings, require
from core.errors import ArenaError
from core.spec import SpecError, load_spec, spec_json_schema
from parser.guard import check_spec_against_text, clean_source_text, verbatim_evidence
from parser.result import ParseResult, ParseUsage
from parser.vocabulary import find_protocols

log = logging.getLogger(__name__)
PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
TEMPLATES = ("strategy_parse_system.txt", "strategy_parse_user.txt", "strategy_parse_repair.txt")
MAX_SOURCE_CHARS = 24_000  # keeps a prompt well inside small models' context windows


def llm_configured(settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    key = settings.openai_api_key
    return key is not None and bool(key.get_secret_value().strip())


@cache
def _templates() -> tuple[str, str, str]:
    system, user, repair = (PROMPTS.joinpath(name).read_text(encoding="utf-8") for name in TEMPLATES)
    return system, user, repair


@cache
def tool_schema() -> dict[str, Any]:
    schema = spec_json_schema()
    schema.pop("$schema", None)
    schema["title"] = "StrategySpec"
    return schema


@cache
def prompt_version() -> str:
    digest = hashlib.sha256()
    for part in (*_templates(), json.dumps(tool_schema(), sort_keys=True)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _usage(message: BaseMessage) -> tuple[int, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    return int(meta.get("input_tokens", 0) or 0), int(meta.get("output_tokens", 0) or 0)


def _model_name(message: BaseMessage, fallback: str | None) -> str | None:
    meta = getattr(message, "response_metadata", None) or {}
    return str(meta.get("model_name") or meta.get("model") or fallback or "") or None


def _answer(output: Any) -> tuple[AIMessage | None, dict[str, Any] | None, str | None]:
    """(raw message, arguments, problem) from ``with_structured_output(include_raw=True)``."""
    raw = output.get("raw") if isinstance(output, dict) else None
    parsed = output.get("parsed") if isinstance(output, dict) else None
    if isinstance(parsed, dict):
        return raw, parsed, None
    if isinstance(raw, AIMessage) and raw.tool_calls:
        return raw, dict(raw.tool_calls[0].get("args") or {}), None
    error = output.get("parsing_error") if isinstance(output, dict) else None
    return raw, None, f"no StrategySpec tool call in the answer ({error or 'empty answer'})"


class LLMParser:
    name = "llm"

    def __init__(self, model: BaseChatModel, *, model_name: str | None = None, max_repairs: int = 2):
        self.model = model
        self.model_name = model_name
        self.max_repairs = max_repairs
        self._structured = model.with_structured_output(
            tool_schema(), method="function_calling", include_raw=True
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> LLMParser:
        from langchain_openai import ChatOpenAI

        settings = settings or get_settings()
        key = require(settings.openai_api_key, "OPENAI_API_KEY")
        model = ChatOpenAI(
            model=settings.llm_model,
            api_key=key,  # type: ignore[arg-type]
            base_url=settings.llm_base_url,
            temperature=0,
            timeout=60,
            max_retries=2,
        )
        return cls(model, model_name=settings.llm_model, **kwargs)

    def parse(self, text: str, *, title: str = "", source_ref: str | None = None) -> ParseResult:
        system, user, repair = _templates()
        cleaned = clean_source_text(text)
        clean_title = clean_source_text(title).text.strip()
        haystack = f"{clean_title}\n{cleaned.text}"
        messages: list[BaseMessage] = [
            SystemMessage(system),
            HumanMessage(user.format(title=clean_title or "(none)", text=cleaned.text[:MAX_SOURCE_CHARS])),
        ]
        tokens_in = tokens_out = attempts = 0
        model = self.model_name
        problem = "no answer"
        warnings = list(cleaned.flags)
        for attempts in range(1, self.max_repairs + 2):
            try:
                output = self._structured.invoke(messages)
            except ArenaError:
                raise
            except Exception as exc:  # the endpoint failed: a rejection, not a crash of the run
                problem = f"LLM call failed: {type(exc).__name__}: {str(exc)[:200]}"
                # The log formatter redacts every configured secret (the API key) from the line.
                log.warning("llm parser: call %d for %r failed: %s", attempts, clean_title[:80],
                            problem, extra={"parser": "llm", "model": model, "attempt": attempts},
                            exc_info=True)
                break
            raw, args, problem_or_none = _answer(output)
            if raw is not None:
                i, o = _usage(raw)
                tokens_in, tokens_out = tokens_in + i, tokens_out + o
                model = _model_name(raw, model)
            spec = None
            if args is not None:
                args["source_ref"] = source_ref[:500] if source_ref else None
                quotes = [str(q) for q in args.get("evidence") or []]
                kept = verbatim_evidence(quotes, haystack)
                if len(kept) < len(quotes):
                    warnings.append(f"dropped {len(quotes) - len(kept)} evidence quote(s) not in the text")
                args["evidence"] = list(kept)
                try:
                    spec = load_spec(args)
                    problems = check_spec_against_text(spec, haystack)
                    problem_or_none = "; ".join(problems) or None
                except SpecError as exc:
                    problem_or_none = exc.message
            if problem_or_none is None and spec is not None:
                usage = ParseUsage("llm", model, prompt_version(), tokens_in, tokens_out, attempts)
                confidence = 0.9 - 0.15 * (attempts - 1) - 0.1 * min(len(cleaned.flags), 3)
                return ParseResult(
                    spec=spec,
                    confidence=max(0.05, confidence),
                    unsupported_features=tuple(f.value for f in spec.unsupported_features),
                    evidence=(spec.evidence and tuple(spec.evidence)) or (),
                    protocols=tuple(find_protocols(haystack)),
                    warnings=tuple(warnings),
                    usage=usage,
                )
            problem = problem_or_none or "invalid answer"
            if attempts > self.max_repairs:
                break
            feedback = repair.format(error=problem)
            if isinstance(raw, AIMessage) and raw.tool_calls:
                messages += [
                    raw,
                    ToolMessage(feedback, tool_call_id=str(raw.tool_calls[0].get("id") or "call")),
                ]
            else:
                messages += [raw or AIMessage(""), HumanMessage(feedback)]
        usage = ParseUsage("llm", model, prompt_version(), tokens_in, tokens_out, attempts)
        log.warning("llm parser: answer for %r rejected after %d attempt(s): %s", clean_title[:80],
                    attempts, problem[:300], extra={"parser": "llm", "model": model,
                                                    "attempts": attempts})
        return ParseResult(
            None,
            0.0,
            rejection=f"LLM answer rejected: {problem}"[:1000],
            warnings=tuple(warnings),
            usage=usage,
        )
