#!/usr/bin/env python3
"""The honest baseline for start-up: a bare PySide6 QMainWindow, nothing else.

Started the same way as the app (``python benchmarks/bare_window.py`` beside
``python -m opentrain_desk``; frozen with PyInstaller beside the frozen app, see
``benchmarks/first_paint.py``). Prints one JSON line with the wall-clock time of the
window's first paint (``painted_epoch``, the same event the app's ``--benchmark-startup``
probe reports) and its peak RSS, then quits.
"""
import json
import sys
import time


def main() -> int:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.resize(1280, 780)
    seen: dict = {}

    class FirstPaint(QObject):
        def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and not seen:
                seen["paint"] = True
                QTimer.singleShot(0, done)  # after the whole first paint, as the app's probe
            return False

    def done() -> None:
        seen["painted"] = time.time()
        app.quit()
    probe = FirstPaint(window)
    window.installEventFilter(probe)
    window.show()
    app.exec()
    print(json.dumps({"painted_epoch": seen.get("painted"), "peak_rss_kb": peak_rss_kb()}),
          flush=True)
    return 0


def peak_rss_kb() -> int | None:
    """As ``opentrain_desk.process_stats.peak_rss``, written out: the baseline imports
    nothing of the app."""
    try:  # Linux: VmHWM (ru_maxrss survives exec: it would report the parent's)
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS


if __name__ == "__main__":
    sys.exit(main())
