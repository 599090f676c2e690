"""Theme: offered in Settings (and OPENTRAIN_DESK_THEME), readable chart bars in both."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox

from opentrain_desk.hygiene.palette import apply_theme, build_palette
from opentrain_desk.services.read_models import MonthlyTotal
from opentrain_desk.ui.views.settings.appearance_section import THEME_KEY
from tests.ui.conftest import find


def contrast(a: QColor, b: QColor) -> float:
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
                + 0.0722 * channel(c.blueF()))
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture
def themed_app(qapp, monkeypatch):
    """A real ThemeController on the app; the app's look is put back afterwards."""
    monkeypatch.delenv("OPENTRAIN_DESK_THEME", raising=False)
    palette, sheet, style = QPalette(qapp.palette()), qapp.styleSheet(), qapp.style().name()
    controller = apply_theme(qapp)
    yield controller
    controller.setParent(None)
    controller.deleteLater()
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_funded_and_paid_out_bars_stand_out_from_the_chart(qtbot, window, scheme):
    from datetime import date
    chart_view = window.reports_page.chart
    chart_view.setPalette(build_palette(scheme))
    chart_view.set_totals([MonthlyTotal(date(2026, 11, 1), 870_000, 410_000)])
    background = chart_view.chart().backgroundBrush().color()
    bars = chart_view.chart().series()[0].barSets()
    assert [b.label() for b in bars] == ["Funded", "Paid out"]
    for bar in bars:
        assert contrast(bar.color(), background) >= 3.0, (scheme, bar.label())


def test_theme_is_offered_in_settings_applied_at_once_and_remembered(qtbot, themed_app,
                                                                      window):
    window.show_area("actionSettings")
    combo = find(window, QComboBox, "themeCombo")
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Follow the system", "Light", "Dark"]
    combo.setCurrentIndex(combo.findData("dark"))
    app_palette = window.palette()
    assert themed_app.scheme == "dark"
    assert app_palette.color(QPalette.ColorRole.Window).lightness() < 128
    assert window.layout_memory.value(THEME_KEY) == "dark"
    combo.setCurrentIndex(combo.findData("light"))
    assert themed_app.scheme == "light"
    assert window.palette().color(QPalette.ColorRole.Window).lightness() > 128


def test_the_environment_variable_still_wins_for_one_launch(themed_app, monkeypatch):
    monkeypatch.setenv("OPENTRAIN_DESK_THEME", "light")
    themed_app.preference = "dark"
    assert themed_app.apply() == "light"
