"""Monthly statements for an organisation: built from the ledger (:mod:`core.statements.builder`),
rendered as PDF (:mod:`core.statements.pdf_out`) or CSV (:mod:`core.statements.csv_out`)."""

from core.statements.builder import StatementData, build_statement, parse_month, previous_month
from core.statements.csv_out import render_csv
from core.statements.pdf_out import render_pdf
from core.statements.performance import RiskFreeRates, zero_rates

__all__ = [
    "RiskFreeRates",
    "StatementData",
    "build_statement",
    "parse_month",
    "previous_month",
    "render_csv",
    "render_pdf",
    "zero_rates",
]
