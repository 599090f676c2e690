"""Issue 14, cases 10–12: bad input that reaches the app from a tampered workspace or from
a user, driven through the real main window (Reports downloads and CSV, the hire dialog)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QPushButton

from opentrain_desk.persistence.orm import invoices
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.reports import exports
from tests.integration.test_exports import issue
from tests.ui.conftest import (click, find, idle, submit, type_into, wait_closed,
                               wait_dialog)
from tests.ui.test_reports_page import choose_file, open_reports
from tests.ui.test_timeline import create_job_via_dialog, fill_milestone


# -- case 10: a tampered invoice number never leads outside the chosen folder ----------------
def test_download_name_of_a_tampered_number_stays_in_the_chosen_folder(qtbot, window,
                                                                         tmp_path):
    engine = window.ctx.uow.engine
    number = issue(engine, date(2026, 3, 4))
    with engine.begin() as conn:  # what a tampered workspace file could hold
        conn.execute(sa.update(invoices).where(invoices.c.number == number)
                     .values(number="../../../evil"))
    page = open_reports(qtbot, window)
    chosen = tmp_path / "exports" / "a" / "chosen"
    chosen.mkdir(parents=True)
    page._last_dir = str(chosen)
    page.table.selectRow(0)
    click(qtbot, find(page, QPushButton, "downloadPdfButton"))
    dialog = wait_dialog(qtbot, page.window(), "downloadPdfFileDialog", QFileDialog)
    offered = Path(dialog.selectedFiles()[0])
    assert offered == chosen / "evil.pdf"
    with qtbot.waitSignal(page.exportFinished, timeout=10000) as finished:
        dialog.accept()  # the user just presses Save on the offered name
    # the renderer refuses the tampered number itself; nothing is written anywhere else
    assert "is not an invoice number" in str(finished.args[0])
    assert [p for p in tmp_path.rglob("*") if p.suffix in (".pdf", ".tmp")] == []


def test_download_names_keep_real_numbers_and_flatten_the_rest():
    assert exports.download_name("EMP-2026-000123") == "EMP-2026-000123.pdf"
    for bad in ("../../x", "..\\..\\x", "C:\\x", "/etc/x", "a/../../b", "", "..", "x\x00y"):
        name = exports.download_name(bad)
        assert name.endswith(".pdf") and "/" not in name and "\\" not in name, bad
        assert ".." not in name and ":" not in name and "\x00" not in name, bad


# -- case 11: semicolons are quoted, control characters removed ------------------------------
def test_csv_quotes_semicolons_and_drops_control_characters(qtbot, window, tmp_path):
    engine = window.ctx.uow.engine
    issue(engine, date(2026, 3, 4), project="Alpha; Beta", description="a\x00b\x07c\x1bd",
          bill_to="Zoë\x7f Müller")
    page = open_reports(qtbot, window)
    path = tmp_path / "invoices.csv"
    click(qtbot, find(page, QPushButton, "exportCsvButton"))
    with qtbot.waitSignal(page.csvExported, timeout=10000):
        choose_file(qtbot, page, "exportCsvFileDialog", path)
    text = path.read_bytes().decode("utf-8-sig")
    assert '"Alpha; Beta"' in text  # Excel in a semicolon locale keeps it one cell
    assert ",abcd," in text and ",Zoë Müller," in text
    assert not any(ord(ch) < 32 and ch not in "\r\n" for ch in text), repr(text)
    assert text.endswith("\r\n")


def test_csv_cell_rules():
    assert exports.csv_cell("a;b") == '"a;b"'
    assert exports.csv_cell('say "hi"') == '"say ""hi"""'
    assert exports.csv_cell("line\nbreak") == '"line\nbreak"'
    assert exports.csv_cell("\x00=SUM(A1)") == "'=SUM(A1)"  # cleaned, then neutralised
    assert exports.csv_cell("plain") == "plain" and exports.csv_cell(None) == ""


# -- case 12: e-mail addresses a mail server would refuse are refused ------------------------
def test_hire_refuses_script_and_overlong_email_addresses(qtbot, window):
    job_view = create_job_via_dialog(qtbot, window)
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    type_into(qtbot, find(dialog, QLineEdit, "trainerNameEdit"), "Ana")
    fill_milestone(qtbot, dialog, "Batch 1", "100.00")
    email = find(dialog, QLineEdit, "trainerEmailEdit")
    error = find(dialog, QLabel, "formErrorLabel")
    for bad, expected in (("<script>@x.yz", "is not an email address"),
                          ("a" * 300 + "@x.yz", "too long"),
                          ("ana@x_y.com", "is not an email address")):
        type_into(qtbot, email, bad)
        submit(qtbot, dialog)
        assert dialog.isVisible() and expected in error.text(), error.text()
        assert email.property("invalid") is True
    assert find(dialog, QLineEdit, "trainerNameEdit").text() == "Ana"  # typed input kept
    idle(qtbot, window)
    assert Queries(window.ctx.uow.engine).job_contracts(job_view.job.id) == []
    type_into(qtbot, email, "ana@example.com")
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
