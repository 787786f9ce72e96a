"""Render an agreement's Markdown as a PDF (fpdf2, pure Python).

The Markdown subset the templates use: ``#``/``##`` headings, paragraphs (hard-wrapped lines are
joined), ``- `` bullets, ``**bold**``, and ``---`` rules. The PDF uses the built-in Helvetica font,
which covers Latin-1: characters outside it are written as ``?`` in the PDF (the Markdown document,
stored beside it, keeps them). Output is deterministic for the same text and date (the creation date
is the document's date), so a document's SHA-256 can be recomputed from its inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fpdf import FPDF


class _Doc(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, f"{self.footer_text} - page {self.page_no()}", align="C")


def latin1(text: str) -> str:
    """What Helvetica can draw: typographic dashes and quotes mapped, the rest of non-Latin-1 as ?."""
    table = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
                           "\u201d": '"', "\u2026": "...", "\u00a0": " "})
    return text.translate(table).encode("latin-1", "replace").decode("latin-1")


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) blocks: h1, h2, bullet (continuation lines indented), rule, field, para."""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("para", " ".join(para)))
            para.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(("h2", line[3:]))
        elif line.startswith("# "):
            flush()
            blocks.append(("h1", line[2:]))
        elif line == "---":
            flush()
            blocks.append(("rule", ""))
        elif line.startswith("- "):
            flush()
            blocks.append(("bullet", line[2:]))
        elif line.startswith("**") and line.count("**") >= 2 and not para:  # "**Label:** value"
            blocks.append(("field", line))
        elif blocks and blocks[-1][0] == "bullet" and not para and raw.startswith("  "):
            kind, text = blocks.pop()
            blocks.append((kind, f"{text} {line}"))
        else:
            para.append(line)
    flush()
    return blocks


def render_pdf(markdown: str, *, title: str, on: date) -> bytes:
    """The PDF bytes of ``markdown``; ``title`` goes in the metadata and the footer."""
    pdf = _Doc(latin1(title))
    pdf.set_creation_date(datetime(on.year, on.month, on.day, tzinfo=UTC))
    pdf.set_title(latin1(title))
    pdf.set_author("Treasury Arena")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw
    for kind, text in _blocks(markdown):
        pdf.set_x(pdf.l_margin)
        if kind == "h1":
            pdf.set_font("Helvetica", "B", 16)
            pdf.multi_cell(width, 9, latin1(text))
            pdf.ln(2)
        elif kind == "h2":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(width, 7, latin1(text))
        elif kind == "rule":
            pdf.ln(2)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
            pdf.ln(3)
        else:
            pdf.set_font("Helvetica", size=10)
            prefix = "-  " if kind == "bullet" else ""
            pdf.multi_cell(width, 5, latin1(prefix + text), markdown=True)
            pdf.ln(1 if kind in ("bullet", "field") else 2)
    return bytes(pdf.output())
