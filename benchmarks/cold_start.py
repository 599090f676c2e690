#!/usr/bin/env python3
"""Cold start of the frozen app vs. the source checkout, in one run; and the bundle size.

Both are started the same way, alternating, REPEATS times each, on the same (already
seeded) demo workspace, with the hidden ``--benchmark-startup`` flag: the app prints the
wall-clock time at which its main window shows the first page of jobs, then quits. The
figure is that time minus the moment just before this script spawned the process, so it
includes interpreter start-up, the frozen bootloader, imports, migrations check and the
first query. The first run of each is the coldest this machine allows (run with
``--drop-caches`` as root on Linux to empty the page cache before every run).

    .venv/bin/python benchmarks/cold_start.py [--repeats 7] [--rebuild | --app FOLDER]

The frozen app is the one in ``build/frozen/`` (packaging/build_frozen.py; the frozen-build
test leaves it there), reused when it is newer than every source file, else built first
with PyInstaller and build.spec, and then the build time is printed too. ``--rebuild``
always builds; ``--app`` takes any existing app folder. Needs the ``build`` extra.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from build_frozen import build, bundle_size, executable  # noqa: E402
from first_paint import launch  # noqa: E402


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def start_once(command: list[str], env: dict[str, str]) -> float:
    """Milliseconds from spawning ``command`` to its main window showing jobs."""
    return launch(command, env)["jobs_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, help="an existing frozen app folder")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true",
                        help="build even when build/frozen/ is up to date")
    parser.add_argument("--drop-caches", action="store_true",
                        help="empty the OS page cache before every run (Linux, root)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otd-cold-start-") as tmp:
        tmp_path = Path(tmp)
        if args.app:
            app, build_s = args.app, None
        else:
            frozen = build(reuse=not args.rebuild)
            app, build_s = frozen.folder, frozen.build_seconds
        home = tmp_path / "home"
        env = dict(os.environ, OPENTRAIN_DESK_HOME=str(home),
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",  # no real secrets
                   QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        commands = {"frozen": [str(executable(app)), "--demo", "--benchmark-startup"],
                    "source": [sys.executable, "-m", "opentrain_desk", "--demo",
                               "--benchmark-startup"]}
        start_once(commands["source"], env)  # creates and seeds the demo workspace once
        dropped = args.drop_caches and drop_caches()
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                if args.drop_caches:
                    drop_caches()
                runs[name].append(start_once(command, env))
        size_mb, files = bundle_size(app)

    if build_s is not None:
        print(f"frozen build (PyInstaller, build.spec): {build_s:.1f} s")
    print(f"bundle: {size_mb:.1f} MB in {files:,} files ({app.name}/)")
    cache = ("page cache dropped before every run" if dropped else
             "page cache not dropped: the first run is the coldest available")
    print(f"process start -> main window with first page of jobs (demo workspace), "
          f"{args.repeats} runs each, alternating; {cache}")
    print(f"{'':8s} {'first':>9s} {'median':>9s} {'min':>9s}")
    for name, values in runs.items():
        print(f"{name:8s} {values[0]:7.0f} ms {statistics.median(values):6.0f} ms "
              f"{min(values):6.0f} ms")
    first = runs["frozen"][0] / runs["source"][0]
    median = statistics.median(runs["frozen"]) / statistics.median(runs["source"])
    print(f"ratio frozen/source: first run {first:.2f}, median {median:.2f}")


if __name__ == "__main__":
    main()
