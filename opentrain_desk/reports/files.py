"""File-system helpers shared by the PDF writer and the exports (no reportlab here)."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "normal_permissions"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once at import (umask can only be read by setting it)


def normal_permissions(fd: int) -> None:
    """Give a temp file (``mkstemp``: 0600) the mode a normally created file gets (0666
    minus the umask), so an exported PDF/CSV/ZIP is readable like the user's other files."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_UMASK)


def fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
