"""Guards the PySide6 pin: a binding that drops a reference to None on every nullptr
return (PySide6 6.12.0 on CPython 3.11) crashes the app with ``none_dealloc``."""
import sys

from PySide6.QtWidgets import QDialog, QTabWidget, QWidget


def test_qt_calls_returning_nothing_keep_none_alive(qapp):
    tabs, widget = QTabWidget(), QWidget()
    before = sys.getrefcount(None)
    for _ in range(2000):
        tabs.currentWidget()
        widget.findChild(QDialog, "missing")
    assert sys.getrefcount(None) >= before - 50  # some drift is normal; 4,000 is the bug
