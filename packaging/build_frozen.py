#!/usr/bin/env python3
"""Build the frozen app with build.spec (PyInstaller), or reuse an up-to-date build.

    .venv/bin/python packaging/build_frozen.py [--out build/frozen] [--reuse]

Used by tests/build/test_frozen.py and benchmarks/cold_start.py. The app folder ends up in
``<out>/dist/OpenTrain Desk/`` (PyInstaller's work files in ``<out>/work/``). ``--reuse``
skips PyInstaller when that folder is newer than every file it is built from (the package,
resources/, build.spec, packaging/). Needs PyInstaller: ``pip install -e .[build]``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "OpenTrain Desk"
DEFAULT_OUT = ROOT / "build" / "frozen"
INPUTS = ("opentrain_desk", "resources", "packaging", "build.spec", "pyproject.toml")

#: Must never be in the bundle (GPL emulator and its web stack, test tools, plaintext keyrings).
FORBIDDEN = ("localstripe", "aiohttp", "pytest", "_pytest", "pytestqt", "hypothesis",
             "keyrings", "opentrain_desk.sandbox.emulator", "tests")


@dataclass(frozen=True)
class FrozenApp:
    folder: Path           # the one-folder app: executable + _internal/
    executable: Path
    build_seconds: float | None  # None when an existing build was reused

    @property
    def work(self) -> Path:
        return self.folder.parent.parent / "work"


def executable(folder: Path) -> Path:
    if sys.platform == "win32":
        return folder / f"{APP_NAME}.exe"
    return folder / ("opentrain-desk" if sys.platform.startswith("linux") else APP_NAME)


def _newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for each in files:
            if each.is_file() and "__pycache__" not in each.parts:
                newest = max(newest, each.stat().st_mtime)
    return newest


def is_current(folder: Path) -> bool:
    exe = executable(folder)
    return exe.is_file() and exe.stat().st_mtime > _newest_input()


def build(out: Path = DEFAULT_OUT, *, reuse: bool = False, quiet: bool = True) -> FrozenApp:
    """Run PyInstaller on build.spec into ``out`` (or reuse a current build there)."""
    folder = out / "dist" / APP_NAME
    if reuse and is_current(folder):
        return FrozenApp(folder, executable(folder), None)
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise RuntimeError("PyInstaller is not installed: pip install -e '.[build]' "
                           "(python3 dev.py test installs it)") from None
    started = time.perf_counter()
    command = [sys.executable, "-m", "PyInstaller", str(ROOT / "build.spec"), "--noconfirm",
               "--distpath", str(out / "dist"), "--workpath", str(out / "work")]
    if quiet:
        command.append("--log-level=WARN")
    done = subprocess.run(command, cwd=ROOT, capture_output=quiet, text=True)
    if done.returncode != 0:
        tail = (done.stderr or "")[-4000:] if quiet else ""
        raise RuntimeError(f"PyInstaller failed (exit {done.returncode}):\n{tail}")
    seconds = time.perf_counter() - started
    exe = executable(folder)
    exe.touch()  # marks the build time for --reuse (PyInstaller may keep an older mtime)
    return FrozenApp(folder, exe, seconds)


def bundle_size(folder: Path) -> tuple[float, int]:
    """Megabytes (10^6) and file count of the app folder."""
    total, count = 0, 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            count += 1
    return total / 1_000_000, count


def forbidden_contents(app: FrozenApp) -> list[str]:
    """Files and archived modules of FORBIDDEN packages found in the build."""
    found = []
    for path in app.folder.rglob("*"):
        parts = {part.split("-")[0].split(".")[0].lower() for part in path.relative_to(
            app.folder).parts}
        if parts & {name.split(".")[0] for name in FORBIDDEN if "." not in name}:
            found.append(str(path.relative_to(app.folder)))
    from PyInstaller.archive.readers import ZlibArchiveReader
    for pyz in app.work.rglob("*.pyz"):
        for module in ZlibArchiveReader(str(pyz)).toc:
            if any(module == name or module.startswith(name + ".") for name in FORBIDDEN):
                found.append(f"{pyz.name}:{module}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    app = build(args.out.resolve(), reuse=args.reuse, quiet=False)
    size, files = bundle_size(app.folder)
    how = "reused" if app.build_seconds is None else f"built in {app.build_seconds:.0f} s"
    print(f"{app.executable} ({how}; {size:.0f} MB in {files:,} files)")
    bad = forbidden_contents(app)
    if bad:
        print("must not be bundled: " + ", ".join(bad[:20]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
