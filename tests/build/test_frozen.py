"""The frozen app (PyInstaller, build.spec) builds, passes its self-check headless and shows
the demo workspace; nothing GPL or test-only is bundled.

Slow (about a minute to build): deselected in the fast suite, run with ``-m frozen``
(``.ci/run`` does). Builds into ``build/frozen/`` (git-ignored), which
benchmarks/cold_start.py then reuses. Every run of the frozen binary gets its own home,
XDG folders and the null keyring, so the user's real folders and secrets stay untouched.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import build_frozen  # noqa: E402

# one build for the three tests: under pytest-xdist (--dist loadgroup) they share a worker
pytestmark = [pytest.mark.frozen, pytest.mark.xdist_group("frozen")]


@pytest.fixture(scope="module")
def frozen_app() -> build_frozen.FrozenApp:
    app = build_frozen.build()  # always rebuilt: the test is about the current sources
    print(f"frozen build: {app.build_seconds:.0f} s, "
          f"{build_frozen.bundle_size(app.folder)[0]:.0f} MB")
    return app


def _run(app: build_frozen.FrozenApp, tmp_path: Path, *args: str, timeout: float = 120):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "OPENTRAIN_"))}
    env.update(QT_QPA_PLATFORM="offscreen", OPENTRAIN_DESK_HOME=str(tmp_path / "home"),
               XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
               XDG_DATA_HOME=str(tmp_path / "xdg-data"),
               XDG_STATE_HOME=str(tmp_path / "xdg-state"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    return subprocess.run([str(app.executable), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_bundle_leaves_out_gpl_and_test_packages(frozen_app):
    assert frozen_app.executable.is_file()
    assert build_frozen.forbidden_contents(frozen_app) == []
    internal = frozen_app.folder / "_internal"
    assert (internal / "resources" / "style.qss").is_file()
    assert list((internal / "opentrain_desk" / "persistence" / "migrations" / "versions")
                .glob("0001_*.py")), "Alembic needs the migration scripts as files"


def test_self_check_passes_headless(frozen_app, tmp_path):
    done = _run(frozen_app, tmp_path, "--self-check")
    assert done.returncode == 0, done.stdout + done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("self-check ok: migrations "), line
    assert "demo jobs" in line and "pdf " in line and "keyring " in line, line
    assert not (tmp_path / "home").exists(), "the self-check must not create a workspace"


def test_demo_screenshot_shows_main_window(frozen_app, tmp_path, qapp):
    from PySide6.QtGui import QImage

    shot = tmp_path / "frozen-demo.png"
    done = _run(frozen_app, tmp_path, "--demo", "--screenshot", str(shot))
    assert done.returncode == 0, done.stdout + done.stderr
    ready = json.loads(done.stdout.strip().splitlines()[-1])
    assert ready["rows"] > 0, "the demo workspace shows jobs (no Stripe sandbox needed)"
    assert (tmp_path / "home" / "demo.sqlite").is_file()

    image = QImage(str(shot))
    assert not image.isNull(), f"{shot} is not an image"
    assert image.width() > 600 and image.height() > 400, image.size()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20, f"only {len(colours)} colours: not a drawn window"
