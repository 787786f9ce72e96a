"""The Discord adapter with real discord.py objects (Client, CommandTree, Interaction, View,
Modal); only the HTTP layer is replaced: interaction responses go to a recording webhook adapter."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.discord_bot.adapter import DiscordAdapter, registered_commands, tree_of
from core.commands.permissions import PERMISSIONS
from core.db import Database
from tests.e2e.chat_support import ADMIN_ID, ChatWorld, make_token

APP_ID = 999_000
_ids = itertools.count(10_000)


class RecordingWebhookAdapter(AsyncWebhookAdapter):
    """Answers interaction callbacks and follow-ups locally; records what the bot sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    async def request(
        self,
        route: Any,
        session: Any,
        *,
        payload: dict[str, Any] | None = None,
        multipart: list[dict[str, Any]] | None = None,
        files: Any = None,
        **_: Any,
    ) -> Any:
        body = payload
        if multipart:
            body = json.loads(next(p["value"] for p in multipart if p["name"] == "payload_json"))
        body = dict(body or {})
        self.sent.append({"path": route.path, "body": body, "files": len(files or [])})
        if route.path.endswith("/callback"):
            return {"interaction": {"id": str(route.webhook_id), "type": body.get("type", 4)}}
        return message_payload(1, str((body or {}).get("content", "")))

    def texts(self) -> list[str]:
        out = []
        for item in self.sent:
            body = item["body"]
            data = body.get("data", body)
            if isinstance(data, dict) and data.get("content"):
                out.append(str(data["content"]))
        return out

    def custom_ids(self) -> list[str]:
        """Button custom ids of the last message that had buttons."""
        for item in reversed(self.sent):
            data = item["body"].get("data", item["body"])
            rows = data.get("components") if isinstance(data, dict) else None
            if rows and item["body"].get("type") != 9:
                return [c["custom_id"] for row in rows for c in row.get("components", [])]
        return []


def user_payload(user_id: int) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": f"user{user_id}",
        "discriminator": "0",
        "avatar": None,
        "global_name": None,
    }


def message_payload(channel_id: int, content: str = "") -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "channel_id": str(channel_id),
        "author": user_payload(APP_ID),
        "content": content,
        "timestamp": "2025-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }


def interaction_payload(
    user_id: int, kind: int, data: dict[str, Any], *, guild: bool = False
) -> dict[str, Any]:
    channel_id = 5000 + user_id
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"tok{next(_ids)}",
        "version": 1,
        "channel_id": str(channel_id),
        "data": data,
        "locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 10_485_760,
    }
    if guild:
        payload["channel"] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": "42",
            "name": "treasury",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }
        payload["guild_id"] = "42"
        payload["member"] = {
            "user": user_payload(user_id),
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    else:
        payload["channel"] = {"id": str(channel_id), "type": 1, "recipients": [user_payload(user_id)]}
        payload["user"] = user_payload(user_id)
    if kind == 3:
        payload["message"] = message_payload(channel_id)
    return payload


def slash(user_id: int, name: str, arguments: str = "", *, guild: bool = False) -> dict[str, Any]:
    options = [{"name": "arguments", "type": 3, "value": arguments}] if arguments else []
    return interaction_payload(
        user_id, 2, {"id": str(next(_ids)), "name": name, "type": 1, "options": options}, guild=guild
    )


def press(user_id: int, custom_id: str) -> dict[str, Any]:
    return interaction_payload(user_id, 3, {"custom_id": custom_id, "component_type": 2})


def modal_submit(user_id: int, custom_id: str, value: str) -> dict[str, Any]:
    components = [
        {"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "value", "value": value}}
    ]
    return interaction_payload(user_id, 5, {"custom_id": custom_id, "components": components})


class DC:
    def __init__(self, db: Database) -> None:
        self.world = ChatWorld(db, platform="discord")
        self.adapter = DiscordAdapter(self.world.layer)
        self.client = self.adapter.build()
        self.http = RecordingWebhookAdapter()

    async def dispatch(self, payload: dict[str, Any]) -> list[str]:
        """Feed a gateway INTERACTION_CREATE through discord.py and wait for the response."""
        before = len(self.http.sent)
        self.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        for _ in range(500):  # discord.py runs the command in a task; wait for its answer
            await asyncio.sleep(0.01)
            if len(self.http.sent) > before:
                break
        await asyncio.sleep(0.05)  # let follow-ups of the same interaction land
        out = []
        for item in self.http.sent[before:]:
            data = item["body"].get("data", item["body"])
            if isinstance(data, dict):
                out.append(str(data.get("content") or data.get("title") or ""))
        return out


@pytest.fixture
async def dc(sqlite_db: Database) -> AsyncIterator[DC]:
    harness = DC(sqlite_db)
    await harness.client._async_setup_hook()
    harness.client._connection.application_id = APP_ID
    # What login() would store from GET /users/@me:
    me: Any = user_payload(APP_ID)
    harness.client._connection.user = discord.ClientUser(state=harness.client._connection, data=me)
    token = async_context.set(harness.http)
    yield harness
    async_context.reset(token)
    await harness.client.close()


async def test_slash_commands_equal_permission_table(dc: DC) -> None:
    assert registered_commands(dc.client) == {n for n, p in PERMISSIONS.items() if not p.button_only}


async def test_slash_callbacks(dc: DC, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    tree = tree_of(dc.client)
    interaction = discord.Interaction(data=slash(7, "tokens"), state=dc.client._connection)  # type: ignore[arg-type]
    await tree.get_command("tokens").callback(interaction)  # type: ignore[union-attr, call-arg]
    assert "STRAT-YIELD-USDC-001" in dc.http.texts()[-1]
    interaction = discord.Interaction(data=slash(7, "token", "NOPE"), state=dc.client._connection)  # type: ignore[arg-type]
    await tree.get_command("token").callback(interaction, arguments="NOPE")  # type: ignore[union-attr, call-arg]
    assert dc.http.texts()[-1].startswith("No token NOPE")
    assert dc.http.sent[-1]["body"]["data"]["flags"] & 64  # ephemeral


async def test_full_dispatch_onboarding_to_purchase(dc: DC, sqlite_db: Database) -> None:
    make_token(sqlite_db)
    texts = await dc.dispatch(slash(100, "start"))
    assert "Disclosures" in texts[0]
    for _ in range(4):
        (custom_id,) = dc.http.custom_ids()
        assert custom_id.startswith("arena:attest ")
        await dc.dispatch(press(100, custom_id))
    assert dc.http.custom_ids()[0] == "arena:org register church"
    await dc.dispatch(press(100, "arena:org register church"))
    modal = dc.http.sent[-1]["body"]
    assert modal["type"] == 9  # a modal asks for the name (no message-content intent needed)
    texts = await dc.dispatch(modal_submit(100, modal["data"]["custom_id"], "Grace Chapel"))
    assert "pending verification" in texts[-1], texts
    org_id = int(texts[-1].split("#", 1)[1].split(",", 1)[0])
    await dc.dispatch(slash(100, "agreement"))  # the PDF and summary, then Agree
    (agree,) = dc.http.custom_ids()
    assert agree.startswith("arena:agreement agree ")
    await dc.dispatch(press(100, agree))
    assert "platform administrators" in (await dc.dispatch(slash(100, "verify", str(org_id))))[0]
    assert "verified" in (await dc.dispatch(slash(ADMIN_ID, "verify", str(org_id))))[0]
    await dc.dispatch(slash(100, "deposit", "500"))
    await dc.dispatch(press(100, dc.http.custom_ids()[0]))
    await dc.dispatch(slash(100, "buy", "STRAT-YIELD-USDC-001 100"))
    confirm = dc.http.custom_ids()[0]
    assert confirm.startswith("arena:confirm ")
    assert "does not exist (or is not yours)" in (await dc.dispatch(press(101, confirm)))[0]
    texts = await dc.dispatch(press(100, confirm))
    assert texts[0].startswith("Bought"), texts
    wallet = await dc.dispatch(slash(100, "wallet"))
    assert "STRAT-YIELD-USDC-001" in wallet[0]
    digest = await dc.dispatch(slash(100, "digest"))
    assert "Daily digest" in digest[0] and dc.http.sent[-1]["files"] == 1


async def test_gate_refuses_groups_and_strangers(dc: DC) -> None:
    assert "private chat" in (await dc.dispatch(slash(300, "buy", "X 1", guild=True)))[0]
    assert "Complete onboarding" in (await dc.dispatch(slash(300, "wallet")))[0]
    assert "Unknown command" in (await dc.dispatch(press(300, "arena:frobnicate 1")))[0]
    assert dc.world.layer.internal_errors == 0
