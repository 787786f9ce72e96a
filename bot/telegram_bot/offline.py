"""A no-network :class:`telegram.request.BaseRequest` for tests, benchmarks and dry runs.

It answers the Bot API methods the adapter uses with well-formed JSON and records every call
(``calls``: list of (method, parameters)), so a real :class:`telegram.ext.Application` runs end to
end without Telegram. ``fail_next`` lets a test inject an API error (e.g. 429 with retry_after).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 999_000,
    "is_bot": True,
    "first_name": "Treasury Arena",
    "username": "arena_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class OfflineRequest(BaseRequest):
    """Answers Bot API calls locally; ``calls`` records (method, parameters)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (status, error body) to return next
        self._ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(p.get("text", "")) for p in self.sent() if chat_id is None or int(p["chat_id"]) == chat_id
        ]

    async def do_request(  # type: ignore[override]
        self, url: str, method: str, request_data: RequestData | None = None, **_timeouts: Any
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append((api_method, params))
        if self.fail_next:
            status, body = self.fail_next.pop(0)
            return status, json.dumps({"ok": False, **body}).encode()
        return 200, json.dumps({"ok": True, "result": self._result(api_method, params)}).encode()

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params.get("chat_id", 0))
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            **extra,
        }

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return self._message(params, text=str(params.get("text", "")))
        if method == "sendPhoto":
            photo = [{"file_id": "photo", "file_unique_id": "photo", "width": 480, "height": 240}]
            return self._message(params, photo=photo, caption=params.get("caption"))
        if method in ("getUpdates",):
            return []
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook, ...


class UpdateFactory:
    """Builds Bot API update payloads (as Telegram sends them) for offline runs."""

    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)

    @staticmethod
    def user(user_id: int, name: str = "") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name or f"user{user_id}"}

    @staticmethod
    def chat(chat_id: int, group: bool = False) -> dict[str, Any]:
        if group:
            return {"id": chat_id, "type": "supergroup", "title": "Treasury team"}
        return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}

    def message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        group: bool = False,
        edited: bool = False,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """A text message (with the bot_command entity Telegram adds to commands)."""
        chat = self.chat(chat_id if chat_id is not None else user_id, group)
        body: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if edited:
            body["edit_date"] = int(time.time())
        return {"update_id": next(self._update_ids), ("edited_message" if edited else "message"): body}

    def press(
        self,
        user_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        group: bool = False,
        query_id: str | None = None,
    ) -> dict[str, Any]:
        """A callback query from pressing an inline button carrying ``data``."""
        chat = self.chat(chat_id if chat_id is not None else user_id, group)
        update_id = next(self._update_ids)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": "(buttons)",
        }
        return {
            "update_id": update_id,
            "callback_query": {
                "id": query_id or f"cq{update_id}",
                "from": self.user(user_id),
                "chat_instance": f"ci{chat['id']}",
                "data": data,
                "message": message,
            },
        }
