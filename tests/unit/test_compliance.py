"""Compliance: hashed, immutable, versioned attestations; organisations pending until verified."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from core.compliance import disclosures
from core.compliance.disclosures import DisclosureSet
from core.db import Database
from core.models import Attestation, Organisation, OrgStatus, Role, User
from tests.e2e.chat_support import ChatWorld


def test_each_attestation_stores_the_hash_of_the_text_shown(sqlite_db: Database) -> None:
    ChatWorld(sqlite_db).onboard(100)
    with sqlite_db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(Attestation)).all()
        assert {r.kind.value for r in rows} == {"church_status", "educational", "risk", "arbitration"}
        for row in rows:
            assert row.disclosure_version == "v1"
            assert row.text_sha256 == disclosures.VERSIONS["v1"].sha256(row.kind)
        assert len({r.text_sha256 for r in rows}) == 4


def test_attestations_are_immutable(sqlite_db: Database) -> None:
    ChatWorld(sqlite_db).onboard(100)
    with sqlite_db.uow() as uow, pytest.raises(DatabaseError):
        uow.session.execute(text("UPDATE attestations SET text_sha256 = 'x'"))
    with sqlite_db.uow() as uow, pytest.raises(DatabaseError):
        uow.session.execute(text("DELETE FROM attestations"))


def test_pressing_an_attestation_twice_stores_one_row(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    reply = world.say(100, "/start")
    world.press(100, reply, reply.all_buttons()[0].label)
    world.press(100, reply, reply.all_buttons()[0].label)
    with sqlite_db.uow(read_only=True) as uow:
        assert len(uow.session.scalars(select(Attestation)).all()) == 1


def test_a_new_disclosure_version_asks_again(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    assert "Cash" in world.say(100, "/wallet").text
    v1 = disclosures.VERSIONS["v1"]
    v2 = DisclosureSet("v2", v1.general + " Fees changed.", v1.attestations)
    monkeypatch.setitem(disclosures.VERSIONS, "v2", v2)
    monkeypatch.setattr(disclosures, "CURRENT_VERSION", "v2")
    assert "Complete onboarding" in world.say(100, "/wallet").text  # back to visitor until re-attested
    assert "have changed" in world.say(100, "/attest risk v1").text  # an old button is refused
    reply = world.say(100, "/start")
    assert reply.step == "attest" and "(v2)" in reply.text
    while reply.step == "attest":
        reply = world.press(100, reply, reply.all_buttons()[0].label)
    assert "Cash" in world.say(100, "/wallet").text
    with sqlite_db.uow(read_only=True) as uow:
        versions = [r.disclosure_version for r in uow.session.scalars(select(Attestation))]
    assert versions.count("v1") == 4 and versions.count("v2") == 4  # history kept, never edited


def test_organisation_pending_until_a_platform_admin_verifies(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    org_id = world.onboard(100)
    assert "already belong" in world.say(100, "/org register church Another").text
    assert "platform administrators" in world.say(100, f"/verify {org_id}").text
    with sqlite_db.uow(read_only=True) as uow:
        assert uow.session.get(Organisation, org_id).status is OrgStatus.PENDING  # type: ignore[union-attr]
    assert "verified; wallet" in world.verify(org_id).text
    assert "already verified" in world.verify(org_id).text  # idempotent
    with sqlite_db.uow(read_only=True) as uow:
        user = uow.session.scalar(select(User).where(User.platform_user_id == 100))
        assert user is not None and user.role is Role.ORG_ADMIN
    assert "No organisation #999" in world.verify(999).text


def test_organisation_names_are_validated(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    reply = world.say(100, "/start")
    while reply.step == "attest":
        reply = world.press(100, reply, reply.all_buttons()[0].label)
    assert "2 to 200" in world.say(100, "/org register church X").text
    assert "may not contain" in world.say(100, "/org register church <script>").text
    assert "kind must be one of" in world.say(100, "/org register mosque Grace").text
