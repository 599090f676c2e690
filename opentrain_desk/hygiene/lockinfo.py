"""Which program holds a file open, where the OS tells (for the "workspace is busy" message).

Windows: the Restart Manager (``RmGetList``), the API Explorer uses for "file in use".
macOS, Linux and the BSDs: ``lsof`` when it is installed. Anything else, or any failure:
an empty list (the message then says "another program"). Bounded: at most ~2 s.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["lock_holders"]

log = logging.getLogger(__name__)
TIMEOUT_S = 2.0


def lock_holders(path: Path) -> list[str]:
    """``["DB Browser for SQLite (process 4242)", …]``, this process left out."""
    try:
        found = _windows(path) if sys.platform == "win32" else _lsof(path)
    except Exception as error:  # noqa: BLE001 - naming the holder is a courtesy
        log.info("could not ask the OS who holds %s: %s", path, error)
        return []
    return [f"{name} (process {pid})" for pid, name in found if pid != os.getpid()]


def _lsof(path: Path) -> list[tuple[int, str]]:
    lsof = shutil.which("lsof") or next(
        (p for p in ("/usr/sbin/lsof", "/usr/bin/lsof") if os.path.exists(p)), None)
    if lsof is None:
        return []
    files = [str(path)] + [f"{path}{side}" for side in ("-wal", "-shm")
                           if Path(f"{path}{side}").exists()]
    result = subprocess.run([lsof, "-w", "-F", "pc", "--", *files], capture_output=True,
                            text=True, timeout=TIMEOUT_S)
    found, pid = [], None
    for line in result.stdout.splitlines():
        if line.startswith("p") and line[1:].isdigit():
            pid = int(line[1:])
        elif line.startswith("c") and pid is not None:
            if all(pid != seen for seen, _ in found):
                found.append((pid, line[1:]))
    return found


def _windows(path: Path) -> list[tuple[int, str]]:
    import ctypes
    from ctypes import wintypes

    class UniqueProcess(ctypes.Structure):
        _fields_ = [("dwProcessId", wintypes.DWORD), ("ProcessStartTime", wintypes.FILETIME)]

    class ProcessInfo(ctypes.Structure):
        _fields_ = [("Process", UniqueProcess), ("strAppName", wintypes.WCHAR * 256),
                    ("strServiceShortName", wintypes.WCHAR * 64),
                    ("ApplicationType", ctypes.c_int), ("AppStatus", wintypes.ULONG),
                    ("TSSessionId", wintypes.DWORD), ("bRestartable", wintypes.BOOL)]

    rm = ctypes.WinDLL("rstrtmgr")
    session, key = wintypes.DWORD(), ctypes.create_unicode_buffer(33)
    if rm.RmStartSession(ctypes.byref(session), 0, key):
        return []
    try:
        files = (wintypes.LPCWSTR * 1)(str(path))
        if rm.RmRegisterResources(session, 1, files, 0, None, 0, None):
            return []
        needed, count, reasons = wintypes.UINT(), wintypes.UINT(8), wintypes.DWORD()
        infos = (ProcessInfo * 8)()
        if rm.RmGetList(session, ctypes.byref(needed), ctypes.byref(count), infos,
                        ctypes.byref(reasons)):
            return []
        return [(infos[i].Process.dwProcessId, infos[i].strAppName)
                for i in range(count.value)]
    finally:
        rm.RmEndSession(session)
