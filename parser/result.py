"""The one interface both parsers implement, and what they return.

``ParseResult.spec`` is a validated :class:`core.spec.StrategySpec` or ``None``; when ``None``,
``rejection`` says why in words a person understands. ``confidence`` is a probability-like score in
[0, 1] (not calibrated). ``evidence`` are verbatim quotes from the source text. ``usage`` records what
an LLM call cost (tokens) and which model and prompt version produced the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.spec import StrategySpec, dump_spec


@dataclass(frozen=True)
class ParseUsage:
    parser: str  # "offline" | "llm"
    model: str | None = None
    prompt_version: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    attempts: int = 1


@dataclass(frozen=True)
class ParseResult:
    spec: StrategySpec | None
    confidence: float
    unsupported_features: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    rejection: str | None = None
    protocols: tuple[str, ...] = ()  # protocol ids named in the (cleaned) text
    warnings: tuple[str, ...] = ()
    usage: ParseUsage = field(default_factory=lambda: ParseUsage("offline"))

    @property
    def ok(self) -> bool:
        return self.spec is not None

    def to_json(self) -> dict[str, Any]:
        import json

        return {
            "ok": self.ok,
            "spec": json.loads(dump_spec(self.spec)) if self.spec is not None else None,
            "confidence": round(self.confidence, 3),
            "unsupported_features": list(self.unsupported_features),
            "evidence": list(self.evidence),
            "protocols": list(self.protocols),
            "rejection": self.rejection,
            "warnings": list(self.warnings),
            "usage": {
                "parser": self.usage.parser,
                "model": self.usage.model,
                "prompt_version": self.usage.prompt_version,
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "attempts": self.usage.attempts,
            },
        }


class StrategyParser(Protocol):
    """Turns untrusted text into a :class:`ParseResult`. Never executes anything from the text."""

    name: str

    def parse(self, text: str, *, title: str = "", source_ref: str | None = None) -> ParseResult: ...
