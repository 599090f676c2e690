"""The invoice renderer's parts: page flow, text wrapping, the lean embedded fonts, size.

(test_invoice_pdf.py checks the rendered invoice as a whole; these pin down what the
canvas-drawn layout and the lean fonts must keep.)
"""
from __future__ import annotations

import io
import re
import struct
import threading
import zlib

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfbase.ttfonts import TTFontFile

from opentrain_desk.domain.invoices import InvoiceParty
from opentrain_desk.reports import invoice_text
from opentrain_desk.reports.invoice_flow import Text
from opentrain_desk.reports.invoice_fonts import lean_truetype, register_fonts
from opentrain_desk.reports.invoice_layout import MARGIN_BOTTOM, MARGIN_TOP, MARGIN_X, layout
from opentrain_desk.reports.invoice_pdf import render_invoice_pdf, write_invoice_pdf
from opentrain_desk.resources import resource_path
from tests.integration.test_invoice_pdf import _run, make_doc, pdf_text

TRACES = " ".join(f"Trace {i:04d} reviewed." for i in range(150))  # two Letter pages


def page_count(path) -> int:
    return int(next(line.split()[1] for line in _run("pdfinfo", path).splitlines()
                    if line.startswith("Pages:")))


def page_text(path, page: int) -> str:
    raw = _run("pdftotext", "-raw", "-enc", "UTF-8", "-f", str(page), "-l", str(page), path, "-")
    return " ".join(raw.split())


# --------------------------------------------------------------------------- page flow


def test_long_description_runs_onto_page_two_with_the_table_header_repeated(tmp_path):
    path = write_invoice_pdf(make_doc(description=TRACES), tmp_path / "two.pdf")
    assert page_count(path) == 2
    first, second = page_text(path, 1), page_text(path, 2)
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    for page in (first, second):
        assert "DESCRIPTION PROJECT AMOUNT" in page  # the header row, on both pages
    assert "Total (USD)" not in first and "Total (USD)" in second
    assert "INVOICE" in first and "INVOICE" not in second  # the page header is not repeated
    # Nothing lost or repeated at the page break: every trace once, in order.
    numbers = re.findall(r"Trace (\d{4}) reviewed\.", first + " " + second)
    assert numbers == [f"{i:04d}" for i in range(150)]


def test_every_line_stays_inside_the_page_margins():
    register_fonts()
    unbroken = "x" * 900  # no space to break at: must be cut, not run off the page
    docs = [
        make_doc(),
        make_doc(description=TRACES + "\n" + unbroken, project_name="P" * 300,
                 stripe_references=(("PaymentIntent", "pi_" + "9" * 250),)),
        make_doc(bill_to=InvoiceParty("Zoë " * 60, ("Line " * 50,), "a@b.example" * 20)),
    ]
    for doc in docs:
        for size in (LETTER, A4):
            pages = layout(doc, size)
            texts = [op for ops in pages for op in ops if isinstance(op, Text)]
            assert texts
            for op in texts:
                width = op.style.width(op.text)
                assert op.x >= MARGIN_X - 0.01, op
                assert op.x + width <= size[0] - MARGIN_X + 0.01, (op, width)
                assert MARGIN_BOTTOM <= op.y <= size[1] - MARGIN_TOP, op


def test_an_unbroken_word_is_cut_into_lines_and_printed_whole(tmp_path):
    word = "annotation" * 40
    text = pdf_text(write_invoice_pdf(make_doc(description=word), tmp_path / "w.pdf"))
    assert word in "".join(text.split())


def test_concurrent_renders_give_the_same_bytes():
    docs = [make_doc(amount_cents=100 + i) for i in range(4)]
    expected = [render_invoice_pdf(doc) for doc in docs]
    results: dict[int, bytes] = {}

    def render(i: int) -> None:
        for _ in range(3):
            results[i] = render_invoice_pdf(docs[i])

    threads = [threading.Thread(target=render, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(4)] == expected


# --------------------------------------------------------------------------- text


def test_wrap_keeps_line_breaks_collapses_spaces_and_fits_the_width():
    style = invoice_text.CELL
    lines = invoice_text.wrap("  one   two\tthree \n\nfour\r\nfive\x00 ", style, 500)
    assert lines == ["one two three", "", "four", "five"]
    long = "word " * 200
    lines = invoice_text.wrap(long, style, 150)
    assert len(lines) > 10 and " ".join(lines) == long.strip()
    assert all(style.width(line) <= 150 for line in lines)


def test_wrap_does_not_break_at_a_no_break_space():
    style = invoice_text.CELL
    lines = invoice_text.wrap("aaaa bbbb\xa0cccc dddd", style, style.width("aaaa bbbb"))
    assert "bbbb\xa0cccc" in lines


def test_fit_shortens_with_an_ellipsis_only_when_needed():
    style = invoice_text.FOOTER
    assert invoice_text.fit("Short", style, 100) == "Short"
    cut = invoice_text.fit("Brightline Talent Agency LLC " * 10, style, 120)
    assert cut.endswith("…") and style.width(cut) <= 120
    assert style.width(invoice_text.fit("Brightline Talent Agency LLC " * 10, style, 400)) > 300


# --------------------------------------------------------------------------- fonts and size


def _tables(font: bytes) -> dict[bytes, bytes]:
    count = struct.unpack_from(">H", font, 4)[0]
    out = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        out[tag] = font[offset:offset + length]
    return out


def _glyphs(font: TTFontFile, tables: dict[bytes, bytes]) -> list[bytes]:
    glyf = tables[b"glyf"]
    return [glyf[a:b] for a, b in zip(font.glyphPos, font.glyphPos[1:], strict=False)]


def test_lean_font_keeps_every_character_and_outline_but_no_hinting():
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        original = resource_path("fonts", name).read_bytes()
        lean = lean_truetype(original)
        assert len(lean) < len(original)
        before, after = TTFontFile(io.BytesIO(original)), TTFontFile(io.BytesIO(lean))
        assert after.name == before.name  # the PostScript name, as the PDF names the font
        assert after.charToGlyph == before.charToGlyph
        assert after.charWidths == before.charWidths
        tables = _tables(lean)
        assert not {b"cvt ", b"fpgm", b"prep"} & set(tables)
        name_table = tables[b"name"]
        ids = {struct.unpack_from(">H", name_table, 6 + 12 * i + 6)[0]
               for i in range(struct.unpack_from(">H", name_table, 2)[0])}
        assert ids and ids <= set(range(8)) and 0 in ids  # the copyright notice stays
        old_glyphs = _glyphs(before, _tables(original))
        new_glyphs = _glyphs(after, tables)
        assert len(new_glyphs) == len(old_glyphs)
        for char in "AZaz09Łëé—":  # simple and composite glyphs
            gid = before.charToGlyph[ord(char)]
            old, new = old_glyphs[gid], new_glyphs[gid]
            contours = struct.unpack_from(">h", old, 0)[0]
            assert struct.unpack_from(">h", new, 0)[0] == contours
            if contours >= 0:  # outline = original minus the instructions
                at = 10 + 2 * contours
                skip = struct.unpack_from(">H", old, at)[0]
                assert struct.unpack_from(">H", new, at)[0] == 0
                assert new.rstrip(b"\0") == (old[:at] + b"\0\0" + old[at + 2 + skip:]).rstrip(b"\0")
            else:
                assert new[:10] == old[:10]


def _font_files(pdf: bytes) -> list[bytes]:
    return [zlib.decompress(m.group(1)) for m in
            re.finditer(rb"/Length1 \d+\s*>>\s*stream\r?\n(.*?)endstream", pdf, re.S)]


def test_standard_invoice_is_small_and_embeds_only_the_glyphs_it_uses(tmp_path):
    doc = make_doc()
    pdf = render_invoice_pdf(doc)
    assert len(pdf) < 20_000  # was ~45 KB: all of ASCII, hinting and the licence text
    fonts = _font_files(pdf)
    assert len(fonts) == 2  # regular and bold, one subset each
    for font in fonts:
        parsed = TTFontFile(io.BytesIO(font), charInfo=0)
        assert parsed.numGlyphs < 80  # a Letter invoice uses fewer than 80 characters a face
        assert not {b"cvt ", b"fpgm", b"prep"} & set(_tables(font))
    path = tmp_path / "small.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    for name in ("Zoë Müller-Łukasiewicz", "José Núñez", "Calle de Alcalá 42"):
        assert name in text


def test_unicode_in_the_bold_face_survives(tmp_path):
    doc = make_doc(issuer=InvoiceParty("Łódź Études — Zoë & José", ("Ñuñoa",)),
                   bill_to=InvoiceParty("Zoë Łukasiewicz"))
    text = pdf_text(write_invoice_pdf(doc, tmp_path / "bold.pdf"))
    assert "Łódź Études — Zoë & José" in text  # issuer name: bold
    assert "Zoë Łukasiewicz" in text


def test_rendering_leaves_reportlab_settings_as_they_were():
    before = rl_config.useA85
    pdf = render_invoice_pdf(make_doc())
    assert rl_config.useA85 == before
    assert b"/ASCII85Decode" not in pdf  # streams are binary Flate only
