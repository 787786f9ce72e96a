"""The statement as a PDF (fpdf2): summary, cash movements by kind, trades, fees, holdings at the
close, performance, the proof of liabilities, and the disclosures on the last page.

Every number goes through :mod:`core.formatting`. The built-in Helvetica font covers Latin-1 only;
other characters (an organisation's name in another script) are shown as ``?`` rather than failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core import formatting as fmt
from core.compliance.disclosures import FOOTER, current
from core.statements.builder import StatementData

TITLE = "Treasury Arena - monthly statement"
METHOD = (
    "How this statement is computed. Values are read from the ledger's postings: cash (including "
    "cash reserved by open exchange orders) plus each token's units at the ledger's NAV at that "
    "moment (the token pool divided by its circulating units), each holding rounded down to the "
    "cent-millionth. The period runs from 00:00 UTC on the first day of the month to 00:00 UTC on the "
    "first day of the next (or to the time shown, for a month in progress). Cash movements are "
    "grouped by ledger transaction kind; their total equals the change in cash. Your share of a "
    "token's management and performance fees is each fee times the units you held over the units in "
    "circulating at that moment; those fees are already reflected in NAV. The wallet's return is the "
    "Modified Dietz return: deposits and withdrawals are weighted by the time they were invested; "
    "fees, plan charges, trading costs, distributions and bounty income are part of the return. The "
    "T-bill return compounds each day's 3-month T-bill investment yield / 365 (no rate after the "
    "series ends). Equal weight is the average NAV return of every token live at the open and close."
)


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else fmt.change(value)


class _Doc(FPDF):
    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=7)
        self.multi_cell(0, 3.5, _latin(f"{FOOTER}  Page {self.page_no()}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)


def _table(
    pdf: FPDF, header: tuple[str, ...], rows: Sequence[tuple[str, ...]], widths: tuple[int, ...]
) -> None:
    if not rows:
        pdf.cell(0, 6, "None in this period.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    aligns = tuple("LEFT" if i == 0 else "RIGHT" for i in range(len(header)))
    with pdf.table(
        col_widths=widths, text_align=aligns, line_height=5.5, first_row_as_headings=True
    ) as table:
        for cells in [header, *rows]:
            line = table.row()
            for cell in cells:
                line.cell(_latin(cell))


def render_pdf(data: StatementData) -> bytes:
    """The PDF document's bytes."""
    pdf = _Doc(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(f"Statement {data.month} - {_latin(data.org_name)}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)
    period = " to date" if not data.complete else ""
    wallets = ", ".join(f"#{w}" for w in data.wallet_ids)
    for line in (
        f"Organisation: {data.org_name} (#{data.org_id}); wallets {wallets}",
        f"Period: {data.month}{period} ({fmt.datetime_text(data.start)} to {fmt.datetime_text(data.end)})",
        f"Generated: {fmt.datetime_text(data.generated_at)}",
    ):
        pdf.cell(0, 5, _latin(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _summary(pdf, data)
    _heading(pdf, "Cash movements by kind")
    _table(
        pdf,
        ("Kind", "Transactions", "In", "Out", "Net"),
        [
            (g.label, fmt.count(g.count), fmt.cash(g.cash_in), fmt.cash(g.cash_out), fmt.cash(g.net))
            for g in data.groups
        ],
        (70, 25, 30, 30, 30),
    )
    _heading(pdf, "Trades")
    _table(
        pdf,
        ("Date", "Kind", "Token", "Units", "Cash"),
        [
            (fmt.datetime_text(t.at), t.kind, t.symbol, fmt.quantity(t.units), fmt.cash(t.cash))
            for t in data.trades
        ],
        (38, 27, 60, 30, 30),
    )
    _fees(pdf, data)
    _heading(pdf, f"Holdings at {fmt.datetime_text(data.closing.at)}")
    _table(
        pdf,
        ("Token", "Units", "NAV", "Value"),
        [(h.symbol, fmt.quantity(h.units), fmt.nav(h.nav), fmt.cash(h.value)) for h in data.closing.holdings]
        + [("Cash", "", "", fmt.cash(data.closing.cash))],
        (75, 40, 35, 35),
    )
    _performance(pdf, data)
    _proof(pdf, data)
    _disclosures(pdf, data)
    return bytes(pdf.output())


#: Lines the summary always shows (zero when the month had none), by the label of their kinds.
SUMMARY_LINES = ("Deposits", "Withdrawals", "Plan charges", "Distributions", "Bounty income")


def _summary(pdf: FPDF, data: StatementData) -> None:
    _heading(pdf, "Summary")
    flows = data.performance.external_flows
    change = data.closing.value - data.opening.value
    by_label: dict[str, Decimal] = {}
    for g in data.groups:
        by_label[g.label] = by_label.get(g.label, Decimal(0)) + g.net
    _table(
        pdf,
        ("", "Amount"),
        [
            ("Opening value", fmt.cash(data.opening.value)),
            *[(label, fmt.cash(by_label.get(label, Decimal(0)))) for label in SUMMARY_LINES],
            ("Change from investments, fees and charges", fmt.cash(change - flows)),
            ("Closing value", fmt.cash(data.closing.value)),
            ("Opening cash", fmt.cash(data.opening.cash)),
            ("Closing cash", fmt.cash(data.closing.cash)),
        ],
        (120, 50),
    )


def _fees(pdf: FPDF, data: StatementData) -> None:
    f = data.fees
    _heading(pdf, "Fees")
    _table(
        pdf,
        ("Fee", "Amount"),
        [
            ("Management fee, your share (in NAV)", fmt.cash(f.management_share)),
            ("Performance fee, your share (in NAV)", fmt.cash(f.performance_share)),
            ("Trading costs (rebalances)", fmt.cash(f.trading_costs)),
            ("Exchange fees (as buyer)", fmt.cash(f.exchange_fees)),
            ("Total fees", fmt.cash(f.total)),
        ],
        (120, 50),
    )


def _performance(pdf: FPDF, data: StatementData) -> None:
    p = data.performance
    _heading(pdf, "Performance")
    ew = ", ".join(p.equal_weight_symbols) or "no token live all period"
    _table(
        pdf,
        ("", "Return"),
        [
            ("Your wallets (Modified Dietz)", _pct(p.wallet)),
            (f"3-month T-bill ({p.tbill_name})", _pct(p.tbill)),
            (f"Equal weight ({_tokens(len(p.equal_weight_symbols))})", _pct(p.equal_weight)),
        ],
        (120, 50),
    )
    if p.wallet is not None and p.tbill is not None:
        pdf.cell(
            0,
            6,
            _latin(f"Against the T-bill: {_pct(p.wallet - p.tbill)}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    if p.wallet is not None and p.equal_weight is not None:
        pdf.cell(
            0,
            6,
            _latin(f"Against equal weight: {_pct(p.wallet - p.equal_weight)}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.multi_cell(0, 4.5, _latin(f"Equal-weight basket: {ew}."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for note in data.notes:
        pdf.multi_cell(0, 4.5, _latin(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _tokens(n: int) -> str:
    return f"{fmt.count(n)} token" + ("" if n == 1 else "s")


def _proof(pdf: FPDF, data: StatementData) -> None:
    _heading(pdf, "Proof of liabilities")
    proof = data.proof
    if proof is None:
        text = "No proof of liabilities was published for a day of this period."
    else:
        included = ", ".join(f"#{w}" for w in proof.wallets_included) or "none of your wallets"
        text = (
            f"Published for {fmt.date_text(proof.as_of)}: root {proof.root} at ledger chain head "
            f"#{fmt.count(proof.chain_seq)}. Included: {included}. Check your inclusion with /proof and "
            "arena proof verify."
        )
    pdf.multi_cell(0, 4.5, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _disclosures(pdf: FPDF, data: StatementData) -> None:
    pdf.add_page()
    d = current()
    _heading(pdf, f"Disclosures ({d.version})")
    for text in (d.general, METHOD):  # the footer (FOOTER) is on every page
        pdf.multi_cell(0, 4.5, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
