"""LLMParser end to end: the real ChatOpenAI client over real HTTP against a local OpenAI-compatible
stub server (``/v1/chat/completions`` answering with tool calls)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.config import Settings
from parser.llm import LLMParser

TEXT = "Supply USDC to whichever lending market pays the higher rate, Aave v2 or Compound. Rebalance weekly."
ANSWERS = [
    {
        "name": "rotation",
        "family": "yield_rotation",
        "yield_rotation": {"markets": ["aave_v2:USDC", "spark:USDC"]},
    },  # spark is not in the text
    {
        "name": "rotation",
        "family": "yield_rotation",
        "rebalance": "weekly",
        "yield_rotation": {"markets": ["aave_v2:USDC", "compound:USDC"]},
        "evidence": ["whichever lending market pays the higher rate"],
    },
]


class Stub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                args = ANSWERS[min(len(stub.requests), len(ANSWERS)) - 1]
                payload = {
                    "id": f"chatcmpl-{len(stub.requests)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "stub-model-1",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": f"call_{len(stub.requests)}",
                                        "type": "function",
                                        "function": {"name": "StrategySpec", "arguments": json.dumps(args)},
                                    }
                                ],
                            },
                        }
                    ],
                    "usage": {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_llm_parser_against_local_openai_compatible_server(stub: Stub) -> None:
    settings = Settings(
        OPENAI_API_KEY="sk-test-not-a-secret",  # type: ignore[call-arg]  # env alias of openai_api_key
        llm_base_url=stub.url,
        llm_model="stub-model",
    )
    parser = LLMParser.from_settings(settings)
    result = parser.parse(TEXT, title="USDC rotation")
    assert result.spec is not None, result.rejection
    assert result.spec.yield_rotation is not None
    assert result.spec.yield_rotation.markets == ["aave_v2:USDC", "compound:USDC"]
    assert result.usage.attempts == 2, "the spark market was rejected and fed back once"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1800, 120)
    assert result.usage.model == "stub-model-1"
    first, second = stub.requests
    assert first["path"] == "/v1/chat/completions" and first["model"] == "stub-model"
    assert first["auth"] == "Bearer sk-test-not-a-secret"
    assert first["tools"][0]["function"]["name"] == "StrategySpec"
    assert "<source>" in first["messages"][1]["content"]
    assert second["messages"][-1]["role"] == "tool"
    assert "spark" in second["messages"][-1]["content"]
