"""Reports → the monthly chart: funded vs. paid out per month, as grouped bars."""
from __future__ import annotations

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
)
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPalette
from PySide6.QtWidgets import QToolTip

from ....services.read_models import MonthlyTotal
from ... import formatting

#: (funded, paid out) bar colours per palette: at least 3:1 against the chart's background.
BAR_COLOURS = {"light": (QColor("#1F4E79"), QColor("#1E8449")),
               "dark": (QColor("#60A5FA"), QColor("#34D399"))}


def bar_colours(palette: QPalette) -> tuple[QColor, QColor]:
    return BAR_COLOURS["dark" if palette.base().color().lightness() < 128 else "light"]


class MonthlyChart(QChartView):
    """Funded vs. paid out per month, as grouped bars."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("monthlyChart")
        self.setAccessibleName("Funded vs. paid out per month")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(160)
        self.totals: list[MonthlyTotal] = []
        chart = QChart()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        chart.setBackgroundRoundness(0)
        chart.layout().setContentsMargins(0, 0, 0, 0)
        self.setChart(chart)
        self._apply_palette()

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the OS switched light/dark
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """QtCharts draws its own light theme; follow the app's palette instead."""
        palette, chart = self.palette(), self.chart()
        ink, grid = palette.text().color(), palette.mid().color()
        chart.setBackgroundBrush(palette.base())
        self.setBackgroundBrush(palette.base())
        chart.setTitleBrush(palette.text())
        chart.legend().setLabelColor(ink)
        for axis in chart.axes():
            axis.setLabelsColor(ink)
            axis.setGridLineColor(grid)
            axis.setLinePenColor(grid)
        for series in chart.series():
            for bar_set, colour in zip(series.barSets(), bar_colours(palette), strict=False):
                bar_set.setColor(colour)

    def set_totals(self, totals: list[MonthlyTotal]) -> None:
        self.totals = totals
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        funded, paid = QBarSet("Funded"), QBarSet("Paid out")
        for bar_set in (funded, paid):
            bar_set.setBorderColor(Qt.GlobalColor.transparent)
        for month in totals:
            funded.append(month.funded_cents / 100)  # display only: dollars on the axis
            paid.append(month.paid_out_cents / 100)
        series = QBarSeries()
        series.append(funded)
        series.append(paid)
        chart.addSeries(series)
        months = QBarCategoryAxis()
        months.append([axis_label(m, totals) for m in totals])
        chart.addAxis(months, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(months)
        values = QCategoryAxis()  # dollar labels with thousands separators: "$10,000"
        values.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        top = max([m.funded_cents for m in totals] + [m.paid_out_cents for m in totals] + [0])
        ceiling = nice_ceiling(top)
        for step in range(5):
            cents = ceiling * step // 4  # whole dollars: "$2,500", not "$2,500.00"
            values.append(formatting.money(cents).removesuffix(".00"), cents / 100)
        values.setRange(0, ceiling / 100)
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)
        series.hovered.connect(self._hovered)
        if totals:
            chart.setTitle(f"Funded vs. paid out, {formatting.month(totals[0].month)} – "
                           f"{formatting.month(totals[-1].month)}")
        self._apply_palette()

    def _hovered(self, status: bool, index: int, bar_set: QBarSet) -> None:
        if not status or not 0 <= index < len(self.totals):
            QToolTip.hideText()
            return
        month = self.totals[index]
        cents = month.funded_cents if bar_set.label() == "Funded" else month.paid_out_cents
        QToolTip.showText(QCursor.pos(), f"{formatting.month(month.month)} · "
                                         f"{bar_set.label()}: {formatting.money(cents)}", self)


def axis_label(month: MonthlyTotal, totals: list[MonthlyTotal]) -> str:
    """``Mar`` (the year only on the first bar and on January) keeps the axis readable."""
    text = formatting.month(month.month)
    first = month is totals[0]
    return text if first or month.month.month == 1 else text.split(" ")[0]


def nice_ceiling(cents: int) -> int:
    """$100, $200, $400, $1,000, $2,000, $4,000 ... in cents, at or above ``cents``
    (quarters of it are round amounts too)."""
    step = 10_000
    while True:
        for factor in (1, 2, 4):
            if step * factor >= cents:
                return step * factor
        step *= 10
