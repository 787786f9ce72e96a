"""API keys: shown once, stored as a SHA-256 only, listed with last use, revoked; created from chat
(/apikey, private chats only) and from the CLI (arena apikey)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from core import access
from core.clock import SimulatedClock
from core.commands.types import ChatType
from core.errors import NotFound, ValidationError
from core.models.access import ApiKey
from tests.web.support import OA, USER_IDS, ApiWorld


def test_a_key_is_stored_only_as_its_hash(fresh_world: ApiWorld) -> None:
    world = fresh_world
    plain = world.new_key(OA, "ci")
    assert plain.startswith("ta_") and len(plain) >= 50
    with world.db.uow(read_only=True) as uow:
        row = uow.session.scalars(select(ApiKey).where(ApiKey.label == "ci")).one()
        assert row.secret_sha256 == hashlib.sha256(plain.encode()).hexdigest()
        assert plain.split("_")[1] == row.prefix
        dump = " ".join(str(v) for r in uow.session.execute(text("SELECT * FROM api_keys")) for v in r)
    assert plain not in dump and plain[12:] not in dump


def test_authenticate_refreshes_last_use_at_most_once_a_minute(fresh_world: ApiWorld) -> None:
    world = fresh_world
    plain = world.new_key(OA, "timed")
    clock = world.db.clock
    assert isinstance(clock, SimulatedClock)
    principal = access.authenticate(world.db, plain)
    assert principal is not None and principal.platform_user_id == USER_IDS[OA]
    first = clock.now()
    clock.advance(timedelta(seconds=30))
    access.authenticate(world.db, plain)

    def last_used() -> object:
        with world.db.uow(read_only=True) as uow:
            return uow.session.scalars(select(ApiKey.last_used_at).where(ApiKey.label == "timed")).one()

    assert last_used() == first
    clock.advance(timedelta(seconds=31))
    access.authenticate(world.db, plain)
    assert last_used() == clock.now()
    assert access.authenticate(world.db, plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert access.authenticate(world.db, "not-a-key") is None


def test_revoke_is_for_the_owner_only(fresh_world: ApiWorld) -> None:
    world = fresh_world
    world.new_key(OA, "mine")
    with world.db.uow() as uow:
        mine = next(k for k in access.list_in(uow.session, "telegram", USER_IDS[OA]) if k.label == "mine")
        with pytest.raises(NotFound):
            access.revoke_in(uow.session, world.db.clock, "telegram", USER_IDS["member"], mine.key_id)
        assert access.revoke_in(uow.session, world.db.clock, "telegram", USER_IDS[OA], mine.key_id) is True
        assert access.revoke_in(uow.session, world.db.clock, "telegram", USER_IDS[OA], mine.key_id) is False
        uow.commit()


@pytest.mark.parametrize("ref", ["telegram", "telegram:abc", "fax:12", ":12", "system:1"])
def test_user_refs_are_checked(ref: str) -> None:
    with pytest.raises(ValidationError):
        access.parse_user_ref(ref)


def test_apikey_in_chat_creates_lists_and_revokes(fresh_world: ApiWorld) -> None:
    chat = fresh_world.chat
    group = chat.say(USER_IDS[OA], "/apikey create", chat_type=ChatType.GROUP, chat_id=-9)
    assert "private chat" in group.text and "ta_" not in group.text
    made = chat.say(USER_IDS[OA], "/apikey create my laptop")
    plain = next(w for w in made.text.split() if w.startswith("ta_"))
    assert made.ephemeral and access.authenticate(fresh_world.db, plain) is not None
    listed = chat.say(USER_IDS[OA], "/apikey list").text
    assert "my laptop" in listed and plain not in listed and "never" in listed
    key_id = made.text.split("#", 1)[1].split(" ", 1)[0]
    assert chat.say(USER_IDS[OA], f"/apikey revoke {key_id}").text == f"API key #{key_id} revoked."
    assert access.authenticate(fresh_world.db, plain) is None
    assert "Usage" in chat.say(USER_IDS[OA], "/apikey frobnicate").text


def test_arena_apikey_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import _register_subcommands, app
    from core.config import get_settings

    db_path = tmp_path / "cli.db"
    monkeypatch.setenv("ARENA_DB_URL", f"sqlite:///{db_path}")
    get_settings.cache_clear()
    _register_subcommands()
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    made = runner.invoke(app, ["apikey", "create", "--user", "telegram:77", "--label", "ops", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    listed = json.loads(runner.invoke(app, ["apikey", "list", "--user", "telegram:77", "--json"]).stdout)
    assert [(k["key_id"], k["label"], k["last_used_at"]) for k in listed] == [
        (created["key_id"], "ops", None)
    ]
    assert created["key"] not in json.dumps(listed)
    revoked = runner.invoke(app, ["apikey", "revoke", str(created["key_id"]), "--user", "telegram:77"])
    assert "revoked" in revoked.stdout
    get_settings.cache_clear()
