"""The PMA agreement (core.compliance.agreement) through the chat command layer on a real SQLite
file: the generated PDF opens and names the organisation, signer and version (read back with pypdf),
its hash is what the acceptance stores, and a new template version pauses trading until accepted."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from core import ledger
from core.compliance import agreement
from core.compliance.agreement import AgreementRequired
from core.db import Database
from core.models import AuditLog
from core.models.agreements import AgreementConsent, AgreementDocument
from tests.e2e.chat_support import ChatWorld, make_token
from tests.support.ledger_world import key

SYM = "STRAT-YIELD-USDC-001"


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _onboarded(db: Database) -> tuple[ChatWorld, int]:
    make_token(db, SYM)
    world = ChatWorld(db)
    org = world.onboard(100, "Grace Chapel", agree=False)
    return world, org


def test_pdf_names_the_organisation_and_its_hash_is_stored(sqlite_db: Database) -> None:
    world, org = _onboarded(sqlite_db)
    assert "Change a field: /apply ein|trust" in world.say(100, "/apply").text
    assert "updated" in world.say(100, "/apply trust Grace Chapel Building Trust").text
    card = world.say(100, "/agreement")
    assert card.attachments and card.attachments[0].mime_type == "application/pdf"
    assert "educational service, not investment advice" in card.text and "arbitration" in card.text
    assert [b.label for b in card.all_buttons()] == ["Agree"]  # after the PDF and the summary
    pdf = card.attachments[0].data
    text = _pdf_text(pdf)
    for expected in ("Private Membership Association Agreement", "Version: pma-v1",
                     "Member organisation: Grace Chapel (a church)", "Trust: Grace Chapel Building Trust",
                     "Signed for the member by: user100", "01 January 2025", "508(c)(1)(A)",
                     "is investment, legal, tax or accounting advice", "not shares, deposits, securities",
                     "may lose some or all", "Management fee: 1 % a year", "Performance fee: 10 %",
                     "Basic ($50.00 a month", "Premium ($200.00 a", "binding arbitration"):
        assert expected in text.replace("\n", " "), expected
    done = world.press(100, card, "Agree")
    assert done.text.startswith("Recorded: Grace Chapel accepts the PMA agreement pma-v1"), done.text
    assert "one to two business days" in done.text
    assert world.press(100, card, "Agree").text.startswith("Already recorded")
    with sqlite_db.uow(read_only=True) as uow:
        consent = uow.session.scalars(select(AgreementConsent)).one()
        doc = uow.session.get(AgreementDocument, consent.document_id)
        assert doc is not None and doc.organisation_id == org
        assert consent.pdf_sha256 == hashlib.sha256(pdf).hexdigest() == doc.pdf_sha256
        assert consent.markdown_sha256 == hashlib.sha256(doc.markdown.encode()).hexdigest()
        assert "Grace Chapel Building Trust" in doc.markdown
        assert uow.session.scalar(select(AuditLog.details).where(AuditLog.action == "agreement.accept")) == {
            "version": "pma-v1", "pdf_sha256": doc.pdf_sha256}
    # The same document is sent again later (the hash the signer saw does not change).
    assert world.say(100, "/agreement").attachments[0].data == pdf


def test_only_the_organisations_admin_accepts(sqlite_db: Database) -> None:
    from core.errors import PermissionDenied
    from core.models import Platform, User

    world, org = _onboarded(sqlite_db)
    card = world.say(100, "/agreement")
    doc_id = card.all_buttons()[0].action.split()[-1]
    world.onboard(200, "Hope Church", agree=False)  # another organisation's admin: reads as missing
    assert "does not exist" in world.say(200, f"/agreement agree {doc_id}").text
    assert "Edited messages never accept" in world.say(100, f"/agreement agree {doc_id}", edited=True).text
    with sqlite_db.uow() as uow:
        member = User(platform=Platform.TELEGRAM, platform_user_id=300, organisation_id=org,
                      is_org_admin=False, created_at=uow.clock.now())
        uow.session.add(member)
        uow.session.flush()
        with pytest.raises(PermissionDenied, match="organisation's admin"):
            agreement.agree(uow.session, uow.clock.now(), member, int(doc_id))


def _v2(tmp_path: Path) -> Path:
    folder = tmp_path / "agreements"
    folder.mkdir()
    v1 = (agreement.TEMPLATE_DIR / "pma-v1.md").read_text()
    (folder / "pma-v1.md").write_text(v1)
    v2 = v1.replace("## 7. Changes", "## 7. Data\n\nA new clause.\n\n## 8. Changes")
    (folder / "pma-v2.md").write_text(v2)
    return folder


def test_new_version_pauses_trading_until_accepted(sqlite_db: Database, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world, org = _onboarded(sqlite_db)
    world.press(100, world.say(100, "/agreement"), "Agree")
    world.verify(org)
    world.confirm(100, world.say(100, "/deposit 1,000"))
    assert world.confirm(100, world.say(100, f"/buy {SYM} 100")).text.startswith("Bought")
    monkeypatch.setattr(agreement, "TEMPLATE_DIR", _v2(tmp_path))
    monkeypatch.setattr(agreement, "CURRENT_VERSION", "pma-v2")
    refused = world.say(100, f"/buy {SYM} 100")
    assert not refused.all_buttons()
    assert "PMA agreement changed to pma-v2" in refused.text and "/agreement" in refused.text
    assert "pma-v2" in world.say(100, f"/sell {SYM} all").text
    with sqlite_db.uow(read_only=True) as uow:
        wallet = uow.session.scalar(select(AgreementConsent.organisation_id))
    del wallet
    from core.models import AIWallet

    with sqlite_db.uow(read_only=True) as uow:
        wallet_id = uow.session.scalars(select(AIWallet.id).where(AIWallet.organisation_id == org)).one()
    with pytest.raises(AgreementRequired):  # the ledger refuses too, whatever the entry point
        ledger.buy(sqlite_db.uow(), wallet_id, SYM, "10", idempotency_key=key("b"))
    card = world.say(100, "/agreement")
    assert "pma-v2" in card.text and "A new clause." in _pdf_text(card.attachments[0].data)
    world.press(100, card, "Agree")
    assert world.confirm(100, world.say(100, f"/buy {SYM} 100")).text.startswith("Bought")


def test_pdf_is_deterministic_and_templates_are_strict(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from core.compliance.agreement_pdf import render_pdf

    md = agreement.template_text("pma-v1")
    assert render_pdf(md, title="t", on=date(2025, 1, 2)) == render_pdf(md, title="t", on=date(2025, 1, 2))
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "pma-x.md").write_text("Hello {{organisation}} {{nonsense}}")
    monkeypatch.setattr(agreement, "TEMPLATE_DIR", folder)
    from core.errors import NotFound, ValidationError

    with pytest.raises(ValidationError, match="unknown placeholders: nonsense"):
        agreement.render_markdown("pma-x", {"organisation": "A"})
    with pytest.raises(NotFound):
        agreement.template_text("../secrets")
