#!/usr/bin/env python3
"""One-step setup for a fresh machine with only Python 3.11+.

    python3 dev.py run    # create .venv, install, launch the app (sandbox + demo workspace)
    python3 dev.py test   # create .venv, install with test extras, run the whole suite

Everything else on the command line is passed on (to the app, or to pytest).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
# "build" (PyInstaller) for tests/build/test_frozen.py, which .ci/run runs with -m frozen
EXTRAS = {"run": "sandbox", "test": "sandbox,test,build"}


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def ensure_env(extras: str) -> Path:
    if sys.version_info < (3, 11):
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_env(EXTRAS[command])
    if command == "run":
        args = rest or ["--sandbox", "--demo"]
        return subprocess.call([str(python), "-m", "opentrain_desk", *args])
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
