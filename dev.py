#!/usr/bin/env python3
"""One-step setup for a fresh machine with only Python 3.11+.

    python3 dev.py run    # create .venv, install, launch the app (sandbox + demo workspace)
    python3 dev.py test   # create .venv, install with test extras, run the whole suite
                          # (in parallel, one pytest-xdist worker per core; -n 0: one process)
    python3 dev.py lint   # the same environment, ``ruff check`` (configured in pyproject)

Everything else on the command line is passed on (to the app, or to pytest).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LINTED = ["opentrain_desk", "tests", "benchmarks", "packaging", "dev.py"]
# "build" (PyInstaller) for tests/build/test_frozen.py, which .ci/run runs with -m frozen
EXTRAS = {"run": "sandbox", "test": "sandbox,test,build", "lint": "sandbox,test,build"}
#: ``dev.py test`` runs the suite in pytest-xdist workers, one per core and at most 4 (each holds
#: a Qt application, a Stripe emulator and database connections); tests that must share one
#: worker say so with ``pytest.mark.xdist_group`` (the frozen build).
PARALLEL = ["-n", "auto", "--maxprocesses", "4", "--dist", "loadgroup"]


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def ensure_env(extras: str) -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3
        sys.exit("OpenTrain Desk needs Python 3.11 or newer.")
    python = venv_python()
    if not python.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode())
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        print(f"Installing opentrain-desk[{extras}] into .venv …", flush=True)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run(pip + ["--upgrade", "pip"], check=True)
        subprocess.run(pip + ["-e", f"{ROOT}[{extras}]"], check=True)
        stamp.write_text(digest.hexdigest())
    return python


# -- what Qt's xcb platform (X11) needs from the system --------------------------------------
#: Debian/Ubuntu package of each library Qt's xcb plugin loads (the plugin's own message names
#: only the first library it tried, often the wrong one).
XCB_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinput.so.0": "libxcb-xinput0", "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1", "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0",
    "libICE.so.6": "libice6", "libSM.so.6": "libsm6",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """Library names ``ldd`` could not find, in order, without repeats."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def install_command(missing: list[str]) -> str:
    """The one command that installs them (Debian/Ubuntu names; others are listed as is)."""
    packages = list(dict.fromkeys(XCB_PACKAGES.get(lib, lib) for lib in missing))
    return "sudo apt-get install -y " + " ".join(packages)


def xcb_plugin(python: Path) -> Path | None:
    code = ("import pathlib, PySide6; p = pathlib.Path(PySide6.__file__).parent; "
            "print(next(iter(p.glob('Qt/plugins/platforms/libqxcb.so')), ''))")
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    path = found.stdout.strip()
    return Path(path) if found.returncode == 0 and path else None


def pytest_args(rest: list[str]) -> list[str]:
    """What ``dev.py test`` passes to pytest: ``rest``, run in parallel unless it says how
    (``-n 0`` or ``-p no:xdist``: one process, e.g. for ``-s`` or a debugger)."""
    chosen = "no:xdist" in rest or any(
        arg.startswith(("-n", "--numprocesses", "--dist", "--maxprocesses")) for arg in rest)
    return rest if chosen else [*PARALLEL, *rest]


def check_qt_xcb(python: Path, env: dict[str, str] | None = None) -> str | None:
    """On Linux with X11, what to install before Qt can open a window (None: nothing)."""
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "xcb").split(":")[0] or "xcb"
    if not sys.platform.startswith("linux") or platform != "xcb" or not shutil.which("ldd"):
        return None
    plugin = xcb_plugin(python)
    if plugin is None:
        return None
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True)
    missing = missing_libraries(ldd.stdout + ldd.stderr)
    if not missing:
        return None
    return ("Qt cannot open a window yet: its X11 (xcb) platform needs system libraries "
            f"that are missing ({', '.join(missing)}).\nInstall them with:\n\n    "
            f"{install_command(missing)}\n\nthen run `python3 dev.py run` again.")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_env(EXTRAS[command])
    if command == "run":
        problem = check_qt_xcb(python)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        args = rest or ["--sandbox", "--demo"]
        return subprocess.call([str(python), "-m", "opentrain_desk", *args])
    if command == "lint":
        return subprocess.call([str(python), "-m", "ruff", "check", *(rest or LINTED)],
                               cwd=ROOT)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    return subprocess.call([str(python), "-m", "pytest", *pytest_args(rest)], cwd=ROOT,
                           env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
