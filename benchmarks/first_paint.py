#!/usr/bin/env python3
"""Start-up against the honest baseline: the app vs. a bare PySide6 QMainWindow.

Each launch is a fresh process, timed from the moment just before this script spawns it
(so interpreter start-up, imports, the frozen bootloader all count) to
- ``window``: the main window's first paint (the app: its frame, before the workspace has
  opened; the bare baseline: its empty QMainWindow);
- ``jobs``: the app's first page of jobs on screen.
Launches alternate (bare, app on the demo workspace, app on a 100,000-milestone workspace)
``--repeats`` times (default 9); the medians are printed with the ratios against the bare
window's median (targets: window <= 1.5x, jobs <= 3.0x) and each kind's peak RSS.

``--frozen`` does the same for the frozen app (build/frozen, built with build.spec when
out of date) against ``bare_window.py`` frozen with PyInstaller the same way (one folder,
build/bare/).

    .venv/bin/python benchmarks/first_paint.py [--repeats 9] [--frozen] [--no-100k]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT / "benchmarks"))
BARE_SCRIPT = ROOT / "benchmarks" / "bare_window.py"


def launch(command: list[str], env: dict[str, str]) -> dict:
    """One launch: its report, with ``window_ms`` / ``jobs_ms`` from spawn."""
    spawned = time.time()
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    if out.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {out.returncode}: {out.stderr[-2000:]}")
    report = json.loads(out.stdout.strip().splitlines()[-1])
    report["window_ms"] = (report["painted_epoch"] - spawned) * 1000
    if "shown_epoch" in report:
        report["jobs_ms"] = (report["shown_epoch"] - spawned) * 1000
    return report


def frozen_bare(out: Path) -> Path:
    """bare_window.py frozen with PyInstaller (one folder), rebuilt when older than it."""
    name = "bare-window"
    folder = out / "dist" / name
    exe = folder / (f"{name}.exe" if sys.platform == "win32" else name)
    if exe.is_file() and exe.stat().st_mtime > BARE_SCRIPT.stat().st_mtime:
        return exe
    subprocess.run([sys.executable, "-m", "PyInstaller", str(BARE_SCRIPT), "--onedir",
                    "--noconfirm", "--name", name, "--log-level=WARN",
                    "--distpath", str(out / "dist"), "--workpath", str(out / "work"),
                    "--specpath", str(out)], cwd=ROOT, check=True)
    return exe


def commands(frozen: bool, urls: dict[str, str]) -> dict[str, list[str]]:
    if frozen:
        from build_frozen import build, executable
        app = [str(executable(build(reuse=True).folder))]
        bare = [str(frozen_bare(ROOT / "build" / "bare"))]
    else:
        app = [sys.executable, "-m", "opentrain_desk"]
        bare = [sys.executable, str(BARE_SCRIPT)]
    kinds = {"bare": bare, "demo": app + ["--demo", "--benchmark-startup"]}
    for name, url in urls.items():
        kinds[name] = app + ["--db", url, "--benchmark-startup"]
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--frozen", action="store_true")
    parser.add_argument("--no-100k", action="store_true", help="the demo workspace only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otd-first-paint-") as tmp:
        home = Path(tmp) / "home"
        env = dict(os.environ, OPENTRAIN_DESK_HOME=str(home),
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
                   QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        # as installed: bytecode cached (the warm-up launch below writes it where missing)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        urls = {}
        if not args.no_100k:
            from startup_100k import MILESTONES, generate
            urls["100k"] = f"sqlite:///{(Path(tmp) / '100k.sqlite').as_posix()}"
            generate(urls["100k"], MILESTONES)
        kinds = commands(args.frozen, urls)
        for name in kinds:  # seeds the demo workspace; warms the page cache for all
            launch(kinds[name], env)
        runs: dict[str, list[dict]] = {name: [] for name in kinds}
        for _ in range(args.repeats):
            for name, command in kinds.items():
                runs[name].append(launch(command, env))
    how = "frozen (PyInstaller one folder)" if args.frozen else "from source"
    print(f"process start -> first paint / first page of jobs, {how}, median of "
          f"{args.repeats} alternating runs each")
    bare = statistics.median(r["window_ms"] for r in runs["bare"])
    print(f"{'':6s} {'window':>10s} {'ratio':>6s} {'jobs':>10s} {'ratio':>6s} "
          f"{'peak RSS':>9s}")
    for name, reports in runs.items():
        window = statistics.median(r["window_ms"] for r in reports)
        line = f"{name:6s} {window:7.0f} ms {window / bare:6.2f}"
        if name != "bare":
            jobs = statistics.median(r["jobs_ms"] for r in reports)
            line += f" {jobs:7.0f} ms {jobs / bare:6.2f}"
        else:
            line += f" {'':>10s} {'':>6s}"
        rss = [r["peak_rss_kb"] for r in reports if r.get("peak_rss_kb")]
        if rss:
            line += f" {max(rss) / 1024:6.0f} MB"
        print(line)
    print("targets: window <= 1.50x bare, jobs <= 3.00x bare")


if __name__ == "__main__":
    main()
