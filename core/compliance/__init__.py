"""Compliance: versioned disclosures, immutable attestations, organisations and roles."""
