"""Auditability: the ledger's hash chain and the daily proof of liabilities.

* :mod:`core.audit.chain` — every ledger transaction carries ``hash = SHA-256(previous hash ||
  canonical encoding)``; :func:`verify_chain` recomputes it (``arena ledger check``).
* :mod:`core.audit.merkle` — a self-contained Merkle sum tree (standard library only) that an
  auditor can read and run: build, prove, verify.
* :mod:`core.audit.liabilities` — publish the daily root over every organisation wallet's
  balances, rebuild one wallet's inclusion proof, read the published root (the web API's endpoint).

``docs/AUDIT.md`` documents both encodings so anyone can recompute them with their own code.
"""
