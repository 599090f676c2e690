"""Long Stripe ids fit: elided in the middle, whole in the tooltip, copyable."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication

from opentrain_desk.ui.views.history_views import elide_ids
from opentrain_desk.ui.widgets.labels import ElidedLabel

IDS = ["pi_3NxQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpZZZ1",
       "ch_3NxQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpZZZ2",
       "tr_1PqQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpQ2aJk8sLpZZZ3"]


def test_every_id_in_a_refs_cell_keeps_its_prefix_and_its_end(qapp):
    metrics = QFontMetrics(QApplication.font())
    text = " / ".join(IDS)
    width = metrics.horizontalAdvance(text) // 2
    shown = elide_ids(text, metrics, width)
    assert metrics.horizontalAdvance(shown) <= width
    parts = shown.split(" / ")
    assert [p[:3] for p in parts] == ["pi_", "ch_", "tr_"]
    assert [p[-2:] for p in parts] == ["Z1", "Z2", "Z3"]
    assert all("…" in p for p in parts)


def test_a_long_account_id_is_elided_in_the_middle_tooltipped_and_copied(qtbot):
    label = ElidedLabel(IDS[0].replace("pi_", "acct_"), mode=Qt.TextElideMode.ElideMiddle)
    qtbot.addWidget(label)
    label.resize(120, label.sizeHint().height())
    label.show()
    qtbot.waitExposed(label)
    shown = label.shown_text()
    assert shown.startswith("acct_") and shown.endswith("Z1") and "…" in shown
    assert label.toolTip() == label.text() == IDS[0].replace("pi_", "acct_")
    assert label.minimumSizeHint().width() < 150
    copy = label.findChild(QAction, "copyLabelAction")
    assert copy in label.actions()  # the label's context menu
    assert copy.shortcut() == QKeySequence(QKeySequence.StandardKey.Copy)
    copy.trigger()
    assert QGuiApplication.clipboard().text() == label.text()
