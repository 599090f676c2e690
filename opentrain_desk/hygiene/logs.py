"""Log files in the per-user log folder, rotated, with secrets redacted from every record.

``install_file_logging(log_dir)`` adds one rotating handler to the root logger. Its
:class:`RedactingFilter` rewrites each record before any formatter sees it: the message
(after %-formatting), the exception text and the stack text. What is redacted:

* Stripe secret and restricted keys (``sk_live_…``, ``sk_test_…``, ``rk_live_…``,
  ``rk_test_…``) and webhook signing secrets (``whsec_…``);
* client secrets: ``pi_…_secret_…`` / ``seti_…_secret_…`` values anywhere, and whatever
  follows ``client_secret`` as a key (``client_secret=…``, ``"client_secret": "…"``);
* bearer / basic credentials (``Authorization: Bearer …``).

:func:`redact` is the same rule set for any text (crash reports use it).
"""
from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

__all__ = ["LOG_FILE", "RedactingFilter", "install_file_logging", "redact"]

LOG_FILE = "opentrain-desk.log"
MAX_BYTES = 2_000_000
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # key-value forms first, so the value is gone whatever it looks like
    (re.compile(r"""(?i)(["']?client_secret["']?\s*[:=]\s*["']?)[^"'\s,;&}]+"""),
     r"\1[REDACTED]"),
    (re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?(?:bearer\s+|basic\s+)?)"""
                r"""[^"'\s,;}]+"""), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b(bearer\s+)(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}"), r"\1[REDACTED]"),
    # no \b before keys: "0sk_live_…" or "x_sk_live_…" must not slip through
    (re.compile(r"(pi|seti|cs|src)_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+"),
     r"\1_[REDACTED client_secret]"),
    (re.compile(r"(sk|rk)_(live|test)_[A-Za-z0-9_]+"), r"\1_\2_[REDACTED]"),
    (re.compile(r"whsec_[A-Za-z0-9_]+"), "whsec_[REDACTED]"),
)


def redact(text: str) -> str:
    """``text`` with every secret the rules above know replaced by ``[REDACTED]``."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


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
