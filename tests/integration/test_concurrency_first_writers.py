"""First writers of a unique row, racing on PostgreSQL: the second waits for the first and then
succeeds with the first's row, instead of dying with a unique violation (the class of the soak's
``platform_risk_state`` failure; see docs/DESIGN-NOTES.md, "Concurrency: first writers").

Each test is deterministic, not a sleep-based race: the first writer creates the row and keeps its
transaction open; the second, in another thread and transaction, must then be *blocked* (on the
uncommitted row or on a lock taken first); after the first commits, the second must finish with
the stored row. Before the fixes each of these seconds raised ``IntegrityError`` (or, for the
attestation, which has no unique key, stored a duplicate).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import ledger
from core.audit import liabilities
from core.bounty.service import record_submission_in
from core.commands.confirmations import ask_in
from core.commands.context import Ctx, Hooks
from core.commands.handlers.agreement import signer_for
from core.commands.handlers.common import remember_chat
from core.commands.types import Command, Identity
from core.compliance import agreement, attestations, organisations
from core.compliance.disclosures import ATTESTATION_ORDER, current
from core.compliance.identity import find_user, get_or_create_user
from core.db import Database, UnitOfWork
from core.errors import ValidationError
from core.models import AIWallet, Role, StrategyToken
from core.models.agreements import AgreementConsent, AgreementDocument
from core.models.audit import LiabilityPublication, WalletAuditSalt
from core.models.chat import ChatPreference, PendingConfirmation
from core.models.compliance import Attestation, Organisation, OrgKind, User
from core.models.money import StrategySubmission
from core.models.pipeline import SourceDocument, StrategyCandidate
from tests.e2e.chat_support import ChatWorld, make_settings
from tests.support.ledger_world import make_org, make_wallet

pytestmark = pytest.mark.postgres


def _race(db: Database, first: Callable[[Session], object], second: Callable[[Session], Any]) -> Any:
    """Run ``first`` in an open transaction, ``second`` in another thread; return what the second
    returned (or raised) once the first committed, failing if it did not wait for the first."""
    holder = db.uow()
    holder.__enter__()
    try:
        first(holder.session)
        holder.session.flush()
        outcome: list[object] = []

        def racer() -> None:
            try:
                with db.uow() as uow:
                    outcome.append(second(uow.session))
                    uow.commit()
            except Exception as error:  # reported by the assertion below
                outcome.append(error)

        thread = threading.Thread(target=racer)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive(), f"the second writer did not wait for the first: {outcome}"
        holder.commit()
    finally:
        holder.__exit__(None, None, None)
    thread.join(timeout=30)
    assert len(outcome) == 1, outcome
    return outcome[0]


def _second_waits_for_first(
    db: Database, first: Callable[[Session], object], second: Callable[[Session], Any]
) -> Any:
    """:func:`_race` where the second must succeed: what it returned."""
    result = _race(db, first, second)
    assert not isinstance(result, Exception), result
    return result


def _count(db: Database, model: type[Any]) -> int:
    with db.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _ctx(db: Database, session: Session, identity: Identity) -> Ctx:
    return Ctx(db, session, make_settings(), identity, None, Role.VISITOR, Hooks())


def test_two_first_messages_of_a_new_user_make_one_user(pg_db: Database) -> None:
    def create(session: Session) -> int:
        return get_or_create_user(session, "telegram", 4242, "Ann", pg_db.clock).id

    first_id: list[int] = []
    second_id = _second_waits_for_first(pg_db, lambda s: first_id.append(create(s)), create)
    assert second_id == first_id[0]
    assert _count(pg_db, User) == 1


def test_two_first_private_messages_store_one_chat_preference(pg_db: Database) -> None:
    first = Identity("telegram", 4242, 900)
    moved = Identity("telegram", 4242, 901)  # the second message came from another private chat
    _second_waits_for_first(
        pg_db,
        lambda s: remember_chat(_ctx(pg_db, s, first)),
        lambda s: remember_chat(_ctx(pg_db, s, moved)),
    )
    with pg_db.uow(read_only=True) as uow:
        rows = uow.session.execute(select(ChatPreference.platform_user_id, ChatPreference.chat_id)).all()
    assert [tuple(r) for r in rows] == [(4242, 901)]  # the later chat wins


def test_a_redelivered_request_beside_the_original_asks_once(pg_db: Database) -> None:
    identity = Identity("telegram", 4242, 4242)
    command = Command(identity, "withdraw", ("10",), idempotency_key="telegram:4242:77")

    def ask(session: Session) -> str:
        return ask_in(session, _ctx(pg_db, session, identity), command, "Withdraw $10.00?").text

    first_text: list[str] = []
    second_text = _second_waits_for_first(pg_db, lambda s: first_text.append(ask(s)), ask)
    assert second_text == first_text[0]  # the same pending request, the same buttons
    assert _count(pg_db, PendingConfirmation) == 1


def _onboarded_admin(db: Database) -> tuple[int, int]:
    """(organisation id, its admin's user id) registered through the chat, agreement not accepted."""
    world = ChatWorld(db)
    org_id = world.onboard(100, "Grace Chapel", agree=False)
    with db.uow(read_only=True) as uow:
        user = find_user(uow.session, "telegram", 100)
        assert user is not None
        return org_id, user.id


def _signer(session: Session, user_id: int) -> tuple[Organisation, agreement.Signer]:
    user = session.get(User, user_id)
    assert user is not None and user.organisation is not None
    return user.organisation, signer_for(user)


def test_two_agreement_requests_at_once_store_one_document(pg_db: Database) -> None:
    _org_id, user_id = _onboarded_admin(pg_db)

    def document(session: Session) -> str:
        org, signer = _signer(session, user_id)
        return agreement.document_for(session, pg_db.clock.now(), org, signer).pdf_sha256

    first_hash: list[str] = []
    second_hash = _second_waits_for_first(pg_db, lambda s: first_hash.append(document(s)), document)
    assert second_hash == first_hash[0]  # the stored document stands: its hash is what was shown
    assert _count(pg_db, AgreementDocument) == 1


def test_a_double_press_of_agree_handled_at_once_stores_one_consent(pg_db: Database) -> None:
    _org_id, user_id = _onboarded_admin(pg_db)
    with pg_db.uow() as uow:
        org, signer = _signer(uow.session, user_id)
        doc_id = agreement.document_for(uow.session, pg_db.clock.now(), org, signer).id
        uow.commit()

    def press(session: Session) -> bool:
        user = session.get(User, user_id)
        assert user is not None
        return agreement.agree(session, pg_db.clock.now(), user, doc_id)[1]

    assert _second_waits_for_first(pg_db, press, press) is False  # "already recorded"
    assert _count(pg_db, AgreementConsent) == 1


def test_a_double_press_of_an_attestation_handled_at_once_stores_one_row(pg_db: Database) -> None:
    with pg_db.uow() as uow:
        user_id = get_or_create_user(uow.session, "telegram", 4242, "Ann", pg_db.clock).id
        uow.commit()
    kind, version = ATTESTATION_ORDER[0], current().version

    def press(session: Session) -> bool:
        user = session.get(User, user_id)
        assert user is not None
        return attestations.attest(session, user, kind, version, pg_db.clock)[1]

    assert _second_waits_for_first(pg_db, press, press) is False
    assert _count(pg_db, Attestation) == 1


def test_two_submissions_of_one_document_at_once_keep_the_first(pg_db: Database) -> None:
    now = pg_db.clock.now()
    with pg_db.uow() as uow:
        doc = SourceDocument(source="chat", kind="text", url="submission:race", title="t",
                             text="buy when it rises", content_hash="f" * 64, provenance={},
                             fetched_at=now, created_at=now)
        uow.session.add(doc)
        uow.session.flush()
        doc_id = doc.id
        uow.commit()

    def submit(author: str) -> Callable[[Session], tuple[str | None, bool]]:
        def run(session: Session) -> tuple[str | None, bool]:
            row, new = record_submission_in(session, now, document_id=doc_id, channel="crawl", author=author)
            return row.author, new

        return run

    assert _second_waits_for_first(pg_db, submit("first"), submit("second")) == ("first", False)
    assert _count(pg_db, StrategySubmission) == 1


def _a_wallet(db: Database) -> int:
    return make_wallet(db, make_org(db))


def test_a_publish_beside_another_keeps_the_first_salt_and_publication(pg_db: Database) -> None:
    wallet_id = _a_wallet(pg_db)
    day = date(2025, 1, 1)
    with pg_db.uow(read_only=True) as uow:
        wallets = list(uow.session.scalars(select(AIWallet.id).where(AIWallet.is_house.is_(False))))
    assert wallet_id in wallets

    def other_publisher(session: Session) -> None:  # its salts and day row, not yet committed
        for wallet in wallets:
            session.add(WalletAuditSalt(wallet_id=wallet, salt="ab" * 32, created_at=pg_db.clock.now()))
        session.add(LiabilityPublication(as_of=day, published_at=pg_db.clock.now(), root_hash="cd" * 32,
                                         assets=["USD"], totals={"USD": "0"}, wallet_count=0,
                                         chain_seq=0, chain_hash="00" * 32))

    root = _second_waits_for_first(pg_db, other_publisher, lambda _s: liabilities.publish(pg_db, day))
    assert root.root == "cd" * 32  # the first publication of the day stands
    with pg_db.uow(read_only=True) as uow:
        salts = set(uow.session.scalars(select(WalletAuditSalt.salt)))
    assert salts == {"ab" * 32}  # a wallet's salt never changes once stored
    assert _count(pg_db, LiabilityPublication) == 1


class _GatedUow(UnitOfWork):
    """A unit of work whose commit waits for ``release``: its writer has done everything but commit
    (``reached`` is set), so another transaction can be started against its uncommitted rows."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.session_factory, clock=db.clock)
        self.reached, self.release = threading.Event(), threading.Event()

    def commit(self) -> None:
        self.reached.set()
        assert self.release.wait(timeout=30)
        super().commit()


def _tokenize_race(db: Database, first_key: str, second_key: str,
                   second_symbol: str = "STRAT-MOMENTUM-BTC-007") -> tuple[object, object]:
    """Tokenize twice at once (the first held before its commit); both outcomes."""
    results: dict[str, object] = {}

    def create(name: str, uow: UnitOfWork, idempotency_key: str, symbol: str) -> None:
        try:
            results[name] = ledger.tokenize(uow, agent_id=None, symbol=symbol,
                                            total_supply="1000000", status="active",
                                            idempotency_key=idempotency_key).token_id
        except Exception as error:  # compared below
            results[name] = error

    gated = _GatedUow(db)
    first = threading.Thread(target=create, args=("first", gated, first_key, "STRAT-MOMENTUM-BTC-007"))
    first.start()
    assert gated.reached.wait(timeout=30)
    second = threading.Thread(target=create, args=("second", db.uow(), second_key, second_symbol))
    second.start()
    second.join(timeout=1)
    assert second.is_alive(), f"the second creation did not wait for the first: {results}"
    gated.release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    return results["first"], results["second"]


def test_two_creations_of_one_symbol_at_once_give_the_loser_a_clear_refusal(pg_db: Database) -> None:
    first, second = _tokenize_race(pg_db, "admin:1", "pipeline:1")
    assert isinstance(first, int)
    assert isinstance(second, ValidationError)
    assert str(second) == "token symbol STRAT-MOMENTUM-BTC-007 is taken"
    assert _count(pg_db, StrategyToken) == 1


def test_a_retried_creation_beside_the_original_returns_the_original(pg_db: Database) -> None:
    first, second = _tokenize_race(pg_db, "import:candidate:9:tokenize", "import:candidate:9:tokenize")
    assert isinstance(first, int) and second == first  # the stored reply, not an IntegrityError
    assert _count(pg_db, StrategyToken) == 1


def test_a_double_org_register_handled_at_once_makes_one_organisation(pg_db: Database) -> None:
    with pg_db.uow() as uow:
        user = get_or_create_user(uow.session, "telegram", 4242, "Ann", pg_db.clock)
        for kind in ATTESTATION_ORDER:
            attestations.attest(uow.session, user, kind, current().version, pg_db.clock)
        user_id = user.id
        uow.commit()

    def register(session: Session) -> int:
        user = session.get(User, user_id)
        assert user is not None
        return organisations.register(session, user, OrgKind.CHURCH, "Grace Chapel", pg_db.clock).id

    refused = _race(pg_db, register, register)  # the second is refused, not a twin organisation
    assert isinstance(refused, ValidationError) and "You already belong to Grace Chapel" in str(refused)
    assert _count(pg_db, Organisation) == 1
    with pg_db.uow(read_only=True) as uow:
        stored = uow.session.get(User, user_id)
        assert stored is not None and stored.is_org_admin and stored.organisation_id is not None


def test_two_first_tokenizations_at_once_make_one_house_wallet(pg_db: Database) -> None:
    first, second = _tokenize_race(pg_db, "admin:1", "pipeline:1", second_symbol="STRAT-TREND-ETH-001")
    assert isinstance(first, int) and isinstance(second, int) and first != second
    with pg_db.uow(read_only=True) as uow:
        houses = uow.session.scalar(select(func.count()).select_from(AIWallet).where(AIWallet.is_house))
    assert houses == 1  # both seeds in the one house wallet


def test_one_text_submitted_twice_at_once_is_stored_once(pg_db: Database) -> None:
    from parser.sources.base import RawDocument
    from parser.store import save_documents

    now = pg_db.clock.now()
    text = "Buy BTC when its 50-day average rises above the 200-day one."

    def save(session: Session) -> tuple[int, int]:
        doc = RawDocument("chat", "text", "submission:same", "Golden cross", text, now, {})
        outcome = save_documents(session, [doc], now)
        return outcome.new, outcome.duplicates

    first: list[tuple[int, int]] = []
    assert _second_waits_for_first(pg_db, lambda s: first.append(save(s)), save) == (0, 1)
    assert first == [(1, 0)]
    assert _count(pg_db, SourceDocument) == 1 and _count(pg_db, StrategyCandidate) == 1
