"""Attestations: one immutable row per accepted statement, with the hash of the text shown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.compliance.disclosures import ATTESTATION_ORDER, VERSIONS, current
from core.errors import ValidationError
from core.models.compliance import Attestation, AttestationKind, User


def given(session: Session, user: User, version: str | None = None) -> set[AttestationKind]:
    """Kinds the user attested for ``version`` (default: the current version)."""
    wanted = version or current().version
    rows = session.scalars(
        select(Attestation.kind).where(
            Attestation.user_id == user.id, Attestation.disclosure_version == wanted
        )
    )
    return set(rows)


def missing(session: Session, user: User | None) -> list[AttestationKind]:
    """Attestations still needed for the current version, in onboarding order."""
    done = given(session, user) if user is not None and user.id is not None else set()
    return [kind for kind in ATTESTATION_ORDER if kind not in done]


def has_all_current(session: Session, user: User) -> bool:
    return not missing(session, user)


def parse_kind(value: str) -> AttestationKind:
    try:
        return AttestationKind(value.strip().lower())
    except ValueError:
        names = ", ".join(kind.value for kind in ATTESTATION_ORDER)
        raise ValidationError(f"Unknown attestation {value[:30]!r}; one of: {names}.") from None


def attest(
    session: Session, user: User, kind: AttestationKind, version: str, clock: Clock
) -> tuple[Attestation, bool]:
    """Record ``kind`` for ``version``; returns (row, created). Pressing twice stores one row.

    A button from an older version is refused: the user must read the current text again.
    """
    if version not in VERSIONS:
        raise ValidationError(f"Unknown disclosure version {version[:20]!r}; send /start again.")
    if version != current().version:
        raise ValidationError("The disclosures have changed since that button; send /start again.")
    # No unique key guards (user, kind, version): a double press handled concurrently stored two
    # rows. Taking the user's row lock first serialises one user's presses (FOR UPDATE; SQLite's
    # write lock does it already), so the second sees the first's row.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = session.scalar(
        select(Attestation).where(
            Attestation.user_id == user.id,
            Attestation.kind == kind,
            Attestation.disclosure_version == version,
        )
    )
    if existing is not None:
        return existing, False
    row = Attestation(
        user_id=user.id,
        kind=kind,
        disclosure_version=version,
        text_sha256=VERSIONS[version].sha256(kind),
        accepted_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row, True
