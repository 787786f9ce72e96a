"""Proof of liabilities: publish the daily Merkle-sum root over every organisation wallet, rebuild a
wallet's inclusion proof, and read the published root (for the digest and the public endpoint).

Liabilities to holders = every non-house wallet's cash (free + reserved, USD) and token units (free
+ reserved) as the ledger's accounts hold them, and each organisation's unpaid import bounty
(``org:ID:bounty``, asset :data:`BOUNTY_ASSET` in USD) in the leaf of the wallet the bounty is paid
into (:func:`core.bounty.service.payout_wallets`; the column appears once any bounty account exists);
the house wallet's seed units are the platform's own. Balances are read in one snapshot
(REPEATABLE READ on PostgreSQL, the read transaction's snapshot on SQLite) together with the
ledger's chain head, so the published head names exactly the ledger state the root covers. One
publication per day (idempotent); leaves are stored so a proof can be rebuilt later. Tree and proof
format: :mod:`core.audit.merkle`.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from core.audit import merkle
from core.audit.chain import chain_head
from core.db import Database, insert_if_absent
from core.errors import NotFound
from core.models import CASH_ASSET, AccountKind, AIWallet, LedgerAccount
from core.models.audit import LiabilityLeaf, LiabilityPublication, WalletAuditSalt

CASH_DECIMALS, TOKEN_DECIMALS = 6, 18
#: The leaf column of unpaid import bounties (USD owed to the organisation, not yet in its wallet).
#: A colon never appears in a token symbol, so it cannot collide with one.
BOUNTY_ASSET = f"{CASH_ASSET}:bounty"
HOLDER_KINDS = (
    AccountKind.WALLET_CASH,
    AccountKind.WALLET_CASH_RESERVED,
    AccountKind.WALLET_TOKENS,
    AccountKind.WALLET_TOKENS_RESERVED,
)
LEAVES = cast(Table, LiabilityLeaf.__table__)
ZERO = Decimal(0)


def decimals_of(asset: str) -> int:
    return CASH_DECIMALS if asset in (CASH_ASSET, BOUNTY_ASSET) else TOKEN_DECIMALS


@dataclass(frozen=True, slots=True)
class PublishedRoot:
    """What the platform publishes each day (digest footer, public endpoint)."""

    as_of: date
    published_at: datetime
    root: str
    assets: list[str]
    totals: dict[str, str]  # asset -> decimal text (USD, token units)
    wallet_count: int
    chain_seq: int
    chain_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "published_at": self.published_at.isoformat(),
            "root": self.root,
            "assets": self.assets,
            "totals": self.totals,
            "wallet_count": self.wallet_count,
            "chain_head": {"position": self.chain_seq, "hash": self.chain_hash},
        }


def _as_root(pub: LiabilityPublication) -> PublishedRoot:
    return PublishedRoot(
        pub.as_of,
        pub.published_at,
        pub.root_hash,
        list(pub.assets),
        dict(pub.totals),
        pub.wallet_count,
        pub.chain_seq,
        pub.chain_hash,
    )


def published_root(session: Session, as_of: date | None = None) -> PublishedRoot | None:
    """The publication of ``as_of`` (the latest when None), or None when nothing was published."""
    query = select(LiabilityPublication)
    query = (
        query.where(LiabilityPublication.as_of == as_of)
        if as_of is not None
        else query.order_by(LiabilityPublication.as_of.desc()).limit(1)
    )
    pub = session.scalar(query)
    return _as_root(pub) if pub is not None else None


def holder_balances(session: Session) -> tuple[list[str], dict[int, dict[str, Decimal]]]:
    """(assets in leaf order, wallet id -> asset -> balance) for every organisation wallet."""
    wallets = list(
        session.scalars(select(AIWallet.id).where(AIWallet.is_house.is_(False)).order_by(AIWallet.id))
    )
    balances: dict[int, dict[str, Decimal]] = {w: defaultdict(lambda: ZERO) for w in wallets}
    rows = session.execute(
        select(LedgerAccount.wallet_id, LedgerAccount.asset, LedgerAccount.balance).where(
            LedgerAccount.kind.in_(HOLDER_KINDS)
        )
    )
    symbols: set[str] = set()
    for wallet_id, asset, balance in rows:
        if wallet_id in balances:
            balances[wallet_id][asset] += balance
            if asset != CASH_ASSET:
                symbols.add(asset)
    bounty = _bounty_payables(session, balances)
    return [CASH_ASSET, *bounty, *sorted(symbols)], balances


_ORG_OF_PAYABLE = re.compile(r"^org:([0-9]+):bounty$")


def _bounty_payables(session: Session, balances: dict[int, dict[str, Decimal]]) -> list[str]:
    """Add each organisation's bounty payable to its payout wallet's balances; ``[BOUNTY_ASSET]``
    when any bounty account exists (the column is then in every leaf), else ``[]``."""
    owed: dict[int, Decimal] = {}
    for code, balance in session.execute(
        select(LedgerAccount.code, LedgerAccount.balance).where(
            LedgerAccount.kind == AccountKind.BOUNTY_PAYABLE
        )
    ):
        match = _ORG_OF_PAYABLE.match(code)
        if match is None:  # only the bounty service opens these accounts, always with this code
            raise ValueError(f"bounty payable account {code!r} does not name an organisation")
        owed[int(match.group(1))] = balance
    if not owed:
        return []
    # Imported here: core.bounty builds on the ledger, which this module must not pull in at import.
    from core.bounty.service import payout_wallets

    wallets = payout_wallets(session, sorted(owed))
    for organisation_id, balance in owed.items():
        wallet_id = wallets.get(organisation_id)
        if wallet_id is not None and wallet_id in balances:
            balances[wallet_id][BOUNTY_ASSET] += balance
    return [BOUNTY_ASSET]


_WIDE = Context(prec=100)  # exact: the default 28 significant digits would round large 18-decimal amounts


def _units(amount: Decimal, asset: str) -> int:
    return int(amount.scaleb(decimals_of(asset), context=_WIDE))


def _text(units: int, asset: str) -> str:
    return format(Decimal(units).scaleb(-decimals_of(asset), context=_WIDE), "f")


_SALTS = cast(Table, WalletAuditSalt.__table__)
_PUBLICATIONS = cast(Table, LiabilityPublication.__table__)


def _ensure_salts(db: Database, wallet_ids: list[int]) -> None:
    # A publish from the CLI beside the scheduler's: both found a wallet without a salt and the
    # second insert died with a unique violation. ON CONFLICT DO NOTHING keeps the first salt (a
    # wallet's salt must never change: published proofs use it).
    with db.uow() as uow:
        known = set(uow.session.scalars(select(WalletAuditSalt.wallet_id)))
        for wallet_id in wallet_ids:
            if wallet_id not in known:
                row = {"wallet_id": wallet_id, "salt": secrets.token_hex(32), "created_at": uow.clock.now()}
                insert_if_absent(uow.session, _SALTS, row, ("wallet_id",))
        uow.commit()


def _snapshot_session(db: Database) -> Session:
    if db.engine.dialect.name == "postgresql":
        return db.session_factory(bind=db.engine.execution_options(isolation_level="REPEATABLE READ"))
    session = db.session_factory()
    session.connection(execution_options={"arena_read_only": True})
    return session


def publish(db: Database, as_of: date | None = None) -> PublishedRoot:
    """Build and store the day's root (idempotent: an existing publication of the day is returned)."""
    day = as_of or db.clock.now().date()
    with db.uow(read_only=True) as uow:
        existing = published_root(uow.session, day)
        wallets = list(uow.session.scalars(select(AIWallet.id).where(AIWallet.is_house.is_(False))))
    if existing is not None:
        return existing
    _ensure_salts(db, wallets)
    session = _snapshot_session(db)
    try:
        assets, balances = holder_balances(session)
        seq, head = chain_head(session)
        salts = {
            row.wallet_id: row.salt
            for row in session.execute(select(WalletAuditSalt.wallet_id, WalletAuditSalt.salt))
        }
    finally:
        session.rollback()
        session.close()
    context = merkle.context_hash(day.isoformat(), assets)
    leaves = sorted(
        (
            (merkle.leaf(context, w, bytes.fromhex(salts[w]), [_units(b[a], a) for a in assets]), w)
            for w, b in balances.items()
        ),
        key=lambda pair: pair[0].hash,
    )
    levels = merkle.build([node for node, _ in leaves], len(assets))
    root = levels[-1][0]
    totals = {a: _text(s, a) for a, s in zip(assets, root.sums, strict=True)}
    with db.uow() as uow:
        row = {"as_of": day, "published_at": uow.clock.now(), "root_hash": root.hash.hex(),
               "assets": assets, "totals": totals, "wallet_count": len(leaves), "chain_seq": seq,
               "chain_hash": head}
        # Two publishers of one day: the second waits for the first's row and returns it.
        if not insert_if_absent(uow.session, _PUBLICATIONS, row, ("as_of",)):
            winner = published_root(uow.session, day)
            if winner is None:  # only if the winner's row was deleted meanwhile
                raise NotFound(f"the proof of liabilities of {day} vanished while publishing; retry")
            return winner
        pub = uow.session.scalars(select(LiabilityPublication).where(LiabilityPublication.as_of == day)).one()
        if leaves:
            uow.session.connection().execute(
                insert(LEAVES),
                [
                    {
                        "publication_id": pub.id,
                        "position": i,
                        "wallet_id": w,
                        "leaf_hash": node.hash.hex(),
                        "amounts": [str(x) for x in node.sums],
                    }
                    for i, (node, w) in enumerate(leaves)
                ],
            )
        result = _as_root(pub)
        uow.commit()
    return result


#: Who publishes, when and how (the ``proof_of_liabilities`` job's time in scheduler/jobs.py; a test
#: keeps the two equal): a treasurer learns when to ask again, an operator how to publish now.
PUBLISH_TIME = "00:50 UTC"
NOT_PUBLISHED = (
    "No proof of liabilities has been published yet: `arena serve` publishes one every day at "
    f"{PUBLISH_TIME}, and an operator can publish one now with `arena proof publish`."
)

def proof_for(session: Session, wallet_id: int, as_of: date | None = None) -> dict[str, Any]:
    """The inclusion proof (JSON-ready) of ``wallet_id`` in the publication of ``as_of`` (latest)."""
    pub = session.scalar(
        select(LiabilityPublication).where(LiabilityPublication.as_of == as_of)
        if as_of is not None
        else select(LiabilityPublication).order_by(LiabilityPublication.as_of.desc()).limit(1)
    )
    if pub is None:
        raise NotFound(NOT_PUBLISHED)
    rows = session.execute(
        select(LiabilityLeaf.wallet_id, LiabilityLeaf.leaf_hash, LiabilityLeaf.amounts)
        .where(LiabilityLeaf.publication_id == pub.id)
        .order_by(LiabilityLeaf.position)
    ).all()
    index = next((i for i, row in enumerate(rows) if row.wallet_id == wallet_id), None)
    salt = session.get(WalletAuditSalt, wallet_id)
    if index is None or salt is None:
        raise NotFound(f"wallet {wallet_id} is not in the proof of liabilities of {pub.as_of}")
    width = len(pub.assets)
    levels = merkle.build(
        [merkle.Node(bytes.fromhex(r.leaf_hash), tuple(int(x) for x in r.amounts)) for r in rows], width
    )
    mine = rows[index]
    return {
        "format": merkle.FORMAT,
        "as_of": pub.as_of.isoformat(),
        "assets": list(pub.assets),
        "decimals": {a: decimals_of(a) for a in pub.assets},
        "wallet_id": wallet_id,
        "salt": salt.salt,
        "balances": {a: _text(int(x), a) for a, x in zip(pub.assets, mine.amounts, strict=True)},
        "path": merkle.path(levels, index),
        "root": pub.root_hash,
        "totals": dict(pub.totals),
        "chain_head": {"position": pub.chain_seq, "hash": pub.chain_hash},
    }
