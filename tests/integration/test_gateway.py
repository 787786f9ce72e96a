"""The verification gateway (core.compliance.applications) through the chat command layer on a real
SQLite file: the application, the /pending queue with Verify / Reject buttons, a rejection's reason,
audit entries and the messages pushed to the organisation."""

from __future__ import annotations

from sqlalchemy import select

from core.db import Database
from core.models import AuditLog, Organisation, OrgStatus
from core.models.agreements import VerificationApplication
from tests.e2e.chat_support import ADMIN_ID, ChatWorld


def _application(db: Database, org: int) -> VerificationApplication:
    with db.uow(read_only=True) as uow:
        app = uow.session.scalars(select(VerificationApplication).where(
            VerificationApplication.organisation_id == org)).one()
        uow.session.expunge(app)
        return app


def _audit(db: Database, action: str) -> list[dict[str, object]]:
    with db.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(AuditLog.details).where(AuditLog.action == action))
        return [dict(d or {}) for d in rows]


def test_application_is_recorded_and_onboarding_says_what_happens_next(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    org = world.onboard(100, "Grace Chapel", agree=False)
    status = world.say(100, "/org").text
    assert "pending verification" in status and "one to two business days" in status
    app = _application(sqlite_db, org)
    assert (app.org_kind, app.legal_name, app.status, app.provider) == (
        "church", "Grace Chapel", "pending", "manual")
    assert app.provider_ref == f"manual-{app.id}" and len(app.signer_attestation_sha256) == 64
    world.say(100, "/apply ein 12-3456789")
    world.say(100, "/apply trust Grace Chapel Trust")
    world.say(100, "/apply trustees Ann Lee; Bo Kim")
    assert "without < >" in world.say(100, "/apply ein <script>").text
    assert "looks like 12-3456789" in world.say(100, "/apply ein 12#34").text
    app = _application(sqlite_db, org)
    assert (app.registration_ref, app.trust_name, app.trustees) == ("12-3456789", "Grace Chapel Trust",
                                                                   ["Ann Lee", "Bo Kim"])


def test_pending_queue_verify_by_button(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    org = world.onboard(100, "Grace Chapel", agree=False)
    world.say(100, "/apply ein 12-3456789")
    assert "platform administrators" in world.say(100, "/pending").text
    queue = world.say(ADMIN_ID, "/pending")
    assert "1 application waiting" in queue.text
    assert "Grace Chapel — 508(c)(1)(A) church; EIN/registration: 12-3456789" in queue.text
    assert "PMA agreement: not accepted yet" in queue.text
    assert [b.action for b in queue.all_buttons()] == [f"verify {org}", f"deny {org}"]
    refused = world.press(ADMIN_ID, queue, f"Verify #{org}")  # not before the agreement is accepted
    assert "has not accepted the PMA agreement pma-v1 yet" in refused.text and "/agreement" in refused.text
    assert _application(sqlite_db, org).status == "pending"
    world.press(100, world.say(100, "/agreement"), "Agree")
    queue = world.say(ADMIN_ID, "/pending")
    assert "PMA agreement: accepted" in queue.text
    before = len(world.notifier.messages)
    done = world.press(ADMIN_ID, queue, f"Verify #{org}")
    assert f"Organisation #{org} Grace Chapel verified" in done.text, done.text
    told = [m for m in world.notifier.messages[before:] if m.chat_id == 100]
    assert told and "Grace Chapel is verified" in told[-1].reply.text and "Free plan" in told[-1].reply.text
    assert _application(sqlite_db, org).status == "verified"
    assert _audit(sqlite_db, "org.verify") == [{"application": _application(sqlite_db, org).id,
                                                "reason": None, "provider": "manual"}]
    assert world.say(ADMIN_ID, "/pending").text == "No applications are waiting."
    assert "was already verified" in world.press(ADMIN_ID, queue, f"Verify #{org}").text


def test_reject_asks_for_a_reason_and_tells_the_organisation(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    org = world.onboard(100, "Grace Chapel", agree=False)
    queue = world.say(ADMIN_ID, "/pending")
    ask = world.press(ADMIN_ID, queue, f"Reject #{org}")
    assert "Send the reason" in ask.text and ask.expect == f"deny {org}"
    before = len(world.notifier.messages)
    done = world.say(ADMIN_ID, f"/{ask.expect} The EIN does not match the church's name")
    assert f"Organisation #{org} Grace Chapel rejected (audited); 1 member chat told." == done.text
    told = [m for m in world.notifier.messages[before:] if m.chat_id == 100]
    assert "The EIN does not match the church's name" in told[-1].reply.text
    assert "/apply" in told[-1].reply.text
    app = _application(sqlite_db, org)
    assert (app.status, app.reason) == ("rejected", "The EIN does not match the church's name")
    assert _audit(sqlite_db, "org.reject") == [{"application": app.id, "provider": "manual",
                                                "reason": "The EIN does not match the church's name"}]
    with sqlite_db.uow(read_only=True) as uow:
        status = uow.session.get(Organisation, org)
        assert status is not None and status.status is OrgStatus.REJECTED
    assert "was not verified" in world.say(100, "/org").text
    assert "already rejected" in world.say(ADMIN_ID, f"/deny {org} again").text
