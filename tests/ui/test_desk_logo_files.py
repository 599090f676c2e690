"""Settings → Company logo (PNG/JPEG/SVG, size-checked, on invoice PDFs); exported files get
the user's normal permissions."""
from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton

from opentrain_desk.reports import exports
from opentrain_desk.reports.invoice_pdf import render_invoice_pdf, write_invoice_pdf
from opentrain_desk.services.workspace_settings import COMPANY_LOGO
from opentrain_desk.ui.views.settings.logo_field import LogoRejected, prepare_logo
from tests.ui.conftest import click, find, wait_dialog

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
       '<rect width="120" height="40" fill="#1F4E79"/></svg>')


def png(path: Path, width: int = 200, height: int = 80) -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#2E9E5B"))
    assert image.save(str(path), "PNG")
    return path


def sample_document():
    from opentrain_desk.hygiene.selfcheck import sample_invoice
    return sample_invoice()


def test_logo_is_chosen_in_settings_and_printed_on_invoices(qtbot, window, tmp_path):
    window.show_area("actionSettings")
    click(qtbot, find(window, QPushButton, "chooseLogoButton"))
    dialog = wait_dialog(qtbot, window, "chooseLogoFileDialog", QFileDialog)
    dialog.selectFile(str(png(tmp_path / "agency.png", 1600, 400)))
    dialog.accept()
    status = find(window, QLabel, "logoStatusLabel")
    qtbot.waitUntil(lambda: status.text().startswith("Saved."))
    assert find(window, QLabel, "logoPreviewLabel").pixmap() is not None
    with window.ctx.uow() as uow:
        stored = Path(uow.settings.get(COMPANY_LOGO))
    assert stored.parent == window.ctx.settings.home  # a copy in the per-user folder
    assert QImage(str(stored)).width() == 800          # scaled to at most 800 px
    pdf = render_invoice_pdf(dataclasses.replace(sample_document(), logo_path=stored))
    assert b"/Subtype /Image" in pdf
    click(qtbot, find(window, QPushButton, "removeLogoButton"))
    qtbot.waitUntil(lambda: not find(window, QPushButton, "removeLogoButton").isEnabled())


def test_logo_files_are_checked(tmp_path):
    target = tmp_path / "out" / "logo.png"
    (tmp_path / "logo.svg").write_text(SVG)
    assert QImage(str(prepare_logo(tmp_path / "logo.svg", target))).width() > 0
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 1))
    with pytest.raises(LogoRejected, match="2 MB at most"):
        prepare_logo(big, target)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(LogoRejected, match="PNG, JPEG or SVG"):
        prepare_logo(tmp_path / "notes.txt", target)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(LogoRejected, match="not a readable image"):
        prepare_logo(tmp_path / "broken.png", target)
    with pytest.raises(LogoRejected, match="too small"):
        prepare_logo(png(tmp_path / "tiny.png", 8, 8), target)


def test_exported_files_get_the_users_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask
    csv_path = tmp_path / "invoices.csv"
    exports.write_csv(csv_path, ["a"], [["1"]])
    pdf_path = write_invoice_pdf(sample_document(), tmp_path / "EMP-1.pdf")
    for path in (csv_path, pdf_path):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path.name
