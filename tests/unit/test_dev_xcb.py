"""dev.py run checks what Qt's xcb platform needs and prints the one command to install it."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)

# Shaped like `ldd` on PySide6's libqxcb.so where libxcb-icccm4 and libxcb-keysyms1 are missing
# (what the real check found on the machine this was written on), trimmed.
LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd6b9f5000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1c2a000000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f1c29ff0000)
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1c29c00000)
"""


def test_missing_xcb_libraries_become_one_install_command():
    missing = dev.missing_libraries(LDD_FRESH_DEBIAN)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert dev.install_command(missing) == "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"


def test_run_stops_before_starting_qt_and_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(dev, "ensure_env", lambda extras: Path(sys.executable))
    monkeypatch.setattr(dev.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(dev, "xcb_plugin", lambda python: Path("/venv/libqxcb.so"))
    monkeypatch.setattr(dev.shutil, "which", lambda name: "/usr/bin/ldd")
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return type("Done", (), {"stdout": LDD_FRESH_DEBIAN, "stderr": "", "returncode": 0})()

    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    monkeypatch.setattr(dev.subprocess, "call", lambda *a, **k: calls.append(a) or 0)
    assert dev.main(["run"]) == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1" in err
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert calls == [["ldd", "/venv/libqxcb.so"]]  # the app itself was not started


def test_no_check_off_x11(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert dev.check_qt_xcb(Path(sys.executable)) is None
