"""Read models for the web dashboard and the public pages: plain dataclasses built from the
ledger, token, wallet, risk and audit tables. Web routes and templates read these, never the
tables. Money is ``Decimal`` USD, NAV is USD per token, fractions are fractions (0.05 = 5 %)."""
