"""Versioned disclosure texts and their SHA-256 hashes.

Each attestation stores the version and the hash of the exact text shown, so what a user accepted
can be proven later. To change any text, add a new version to :data:`VERSIONS` (never edit an old
one): every user is then asked again, because their attestations are for an older version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.models.compliance import AttestationKind

GENERAL_V1 = (
    "Treasury Arena is an educational treasury optimisation service for churches, church trusts "
    "and religious organisations. Nothing here is investment, legal or tax advice. Strategy tokens "
    "represent access to the performance of backtested, paper-traded strategies; they are not "
    "deposits and are not insured. Past and simulated performance does not predict future results. "
    "You can lose some or all of the money you allocate."
)

ATTESTATIONS_V1: dict[AttestationKind, tuple[str, str]] = {
    # kind: (button label, text attested)
    AttestationKind.CHURCH_STATUS: (
        "We are a church / trust",
        "I act for a church, a church trust or a religious organisation (for example a "
        "508(c)(1)(A) church or its trust) and I am authorised to act for its treasury.",
    ),
    AttestationKind.EDUCATIONAL: (
        "Educational, not advice",
        "I understand this is an educational treasury optimisation service and not investment advice.",
    ),
    AttestationKind.RISK: (
        "I understand the risk",
        "I understand that strategy tokens can lose value, that simulated results do not predict "
        "future returns, and that my organisation may lose the money it allocates.",
    ),
    AttestationKind.ARBITRATION: (
        "I agree to arbitration (PMA)",
        "On behalf of my organisation I agree to resolve disputes by private arbitration under the "
        "private membership association (PMA) agreement, instead of in court.",
    ),
}

FOOTER = (
    "Educational service, not investment advice. Tokens track strategy performance and can lose "
    "value. See /disclosures."
)


@dataclass(frozen=True, slots=True)
class DisclosureSet:
    """One version of all texts."""

    version: str
    general: str
    attestations: dict[AttestationKind, tuple[str, str]]

    def text(self, kind: AttestationKind) -> str:
        return self.attestations[kind][1]

    def label(self, kind: AttestationKind) -> str:
        return self.attestations[kind][0]

    def sha256(self, kind: AttestationKind) -> str:
        """Hash of exactly what is shown for ``kind``: the general text plus the statement."""
        return text_sha256(f"{self.version}\n{self.general}\n{self.text(kind)}")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


VERSIONS: dict[str, DisclosureSet] = {
    "v1": DisclosureSet("v1", GENERAL_V1, ATTESTATIONS_V1),
}
CURRENT_VERSION = "v1"

#: Order in which onboarding asks for the attestations.
ATTESTATION_ORDER: tuple[AttestationKind, ...] = (
    AttestationKind.CHURCH_STATUS,
    AttestationKind.EDUCATIONAL,
    AttestationKind.RISK,
    AttestationKind.ARBITRATION,
)


def current() -> DisclosureSet:
    return VERSIONS[CURRENT_VERSION]


def render(disclosures: DisclosureSet | None = None) -> str:
    """The full disclosure text for chat."""
    d = disclosures or current()
    lines = [f"Disclosures ({d.version})", "", d.general, ""]
    lines += [f"- {d.text(kind)}" for kind in ATTESTATION_ORDER]
    return "\n".join(lines)
