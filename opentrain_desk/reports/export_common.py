"""What every export shares: its errors and result, safe file names, and where the rows
come from (the read side; an engine is accepted for scripts, tests and benchmarks)."""
from __future__ import annotations

import errno
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

__all__ = ["ExportCancelled", "ExportError", "ExportResult", "Progress", "download_name",
           "pdf_filename", "reads", "user_error"]

Progress = Callable[[int, int], None]
CANCELLED = "The export was cancelled; nothing was written."


class ExportError(Exception):
    """An export failed; ``str(error)`` is a complete message for the user."""

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    target: Path
    count: int                       # PDFs written
    names: tuple[str, ...]           # file / member names, in export order
    processes: int                   # worker processes that rendered (0: this process)
    worker_peak_rss: dict[int, int] = field(default_factory=dict)  # pid -> bytes
    seconds: float = 0.0


# -- names and errors -----------------------------------------------------------------------------

def pdf_filename(number: str) -> str:
    """``EMP-2026-000123`` → ``EMP-2026-000123.pdf`` (numbers are ``[A-Z0-9-]`` only)."""
    if not number or any(not (ch.isascii() and (ch.isalnum() or ch == "-")) for ch in number):
        raise ValueError(f"not an invoice number: {number!r}")
    return f"{number}.pdf"


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9-]+")


def download_name(number: str) -> str:
    """The file name offered for one invoice: :func:`pdf_filename` for a real number; for
    anything else (a tampered workspace: ``../../x``, ``C:\\x``) a plain name with every
    other character replaced, so it can never point outside the chosen folder."""
    try:
        return pdf_filename(number)
    except ValueError:
        return f"{_UNSAFE_NAME.sub('_', number or '').strip('_')[:80] or 'invoice'}.pdf"


def user_error(exc: OSError, where: Path) -> ExportError:
    """A message a person can act on; says that nothing was written."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        text = (f"The disk is full: there is not enough free space in “{where}” for this "
                "export. Nothing was written; free some space or choose another place and "
                "try again.")
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = (f"You do not have permission to write to “{where}”. Nothing was written; "
                "choose another folder.")
    elif code in (errno.ENOENT, errno.ENOTDIR):
        text = f"The folder “{where}” does not exist. Nothing was written; choose another one."
    else:
        text = (f"Could not write to “{where}” ({exc.strerror or type(exc).__name__}). "
                "Nothing was written.")
    return ExportError(text, code)


def reads(source):
    """The read side to export from: ``source`` itself, or a ``SqlReadSide`` on an engine."""
    if isinstance(source, sa.Engine):
        from ..persistence.read_side import SqlReadSide
        return SqlReadSide(source)
    return source
