"""Log files in the per-user log folder, rotated, with secrets redacted from every record.

``install_file_logging(log_dir)`` adds one rotating handler to the root logger. Its
:class:`RedactingFilter` rewrites each record before any formatter sees it: the message
(after %-formatting), the exception text and the stack text, with :func:`redact` from
``opentrain_desk.redaction`` (the rule set crash reports and Stripe error messages use too).
"""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from ..redaction import redact

__all__ = ["LOG_FILE", "RedactingFilter", "install_file_logging", "install_stderr_logging",
           "redact"]

LOG_FILE = "opentrain-desk.log"
MAX_BYTES = 2_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"

class RedactingFilter(logging.Filter):
    """Rewrites a record in place (message, exception and stack text); never drops it.

    Attach it to a *handler*: handler filters see records from every logger, logger
    filters only those logged on that very logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_file_logging(log_dir: Path, level: int = logging.INFO) -> logging.Handler:
    """Add the rotating, redacting file handler to the root logger (once per file)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "baseFilename", None) == str(path.resolve()):
            return handler
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return handler


def install_stderr_logging(level: int = logging.WARNING) -> logging.Handler:
    """The fallback when the log folder cannot be written: warnings and errors to stderr,
    redacted like the file, without tracebacks (those stay out of a terminal a user reads)."""
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(_NoTracebackFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


class _NoTracebackFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return self.formatMessage(record)


_QT_LEVELS = {"QtDebugMsg": logging.DEBUG, "QtInfoMsg": logging.INFO,
              "QtWarningMsg": logging.WARNING, "QtCriticalMsg": logging.ERROR,
              "QtFatalMsg": logging.CRITICAL}


def route_qt_messages() -> None:
    """Send Qt's own warnings (qWarning & co.) to the log instead of stderr only.

    Undo with :func:`unroute_qt_messages` before the interpreter shuts down."""
    from PySide6.QtCore import qInstallMessageHandler

    qt_log = logging.getLogger("qt")

    def handler(mode, context, message: str) -> None:
        level = _QT_LEVELS.get(getattr(mode, "name", str(mode)), logging.WARNING)
        category = getattr(context, "category", None) or "default"
        qt_log.log(level, "%s: %s", category, message)

    qInstallMessageHandler(handler)


def unroute_qt_messages() -> None:
    from PySide6.QtCore import qInstallMessageHandler
    qInstallMessageHandler(None)
