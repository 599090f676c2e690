"""Fast start: the window's frame paints before the heavy modules load; the workspace
opens behind it and fills it in (issue: fast start and fast documents)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QTableView

from opentrain_desk.app import build_window, close_window, finish_pages_later
from opentrain_desk.ui.main_window import MainWindow

from .conftest import find


def launch(home, *args: str) -> dict:
    env = dict(os.environ, OPENTRAIN_DESK_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    out = subprocess.run([sys.executable, "-m", "opentrain_desk", *args,
                          "--benchmark-startup"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_frame_paints_before_sqlalchemy_services_stripe_or_reportlab_load(tmp_path):
    report = launch(tmp_path / "home", "--demo")
    assert report["loaded_at_paint"] == []  # none of startup.HEAVY_MODULES yet
    assert report["painted_epoch"] <= report["shown_epoch"]
    assert report["rows"] == 4  # the demo workspace's jobs, read once it opened
    assert report["peak_rss_kb"] is None or report["peak_rss_kb"] > 0


def test_a_plain_workspace_file_opens_behind_its_frame_too(tmp_path):
    db = (tmp_path / "mine.sqlite").as_posix()
    report = launch(tmp_path / "home", "--db", f"sqlite:///{db}")
    assert report["loaded_at_paint"] == []
    assert report["rows"] == 0  # a new, empty workspace (created behind the frame)
    assert (tmp_path / "mine.sqlite").exists()


def test_the_frame_has_menus_areas_and_a_loading_state_before_any_workspace(qtbot, settings):
    frame = MainWindow(settings, open_demo=lambda: None)
    qtbot.addWidget(frame)
    frame.show()
    qtbot.waitExposed(frame)
    assert frame.ctx is None and frame.pages == {}
    loading = frame.stack.currentWidget().findChild(QLabel, "areaLoadingLabel")
    assert loading.isVisible() and loading.text() == "Loading jobs…"
    for name in ("actionNewJob", "actionFind", "actionSyncNow"):
        assert not find(frame, QAction, name).isEnabled(), name  # needs the workspace
    for name in ("actionQuit", "actionAbout", "actionOpenDemo", "actionReports"):
        assert find(frame, QAction, name).isEnabled(), name
    find(frame, QAction, "actionReports").trigger()  # switching areas works meanwhile
    assert frame.stack.currentWidget().findChild(QLabel).text() == "Loading reports…"
    frame.update_mode()  # nothing to say yet, and no error for it
    frame.close()


def test_the_workspace_fills_the_frame_jobs_first_then_the_other_areas(qtbot, settings):
    frame = MainWindow(settings, open_demo=lambda: None)
    qtbot.addWidget(frame)
    frame.show()
    find(frame, QAction, "actionSettings").trigger()  # the user went to Settings meanwhile
    window = build_window(settings, window=frame, all_pages=False)
    try:
        assert window is frame
        # the jobs page, and the page of the area the user is looking at, in its place
        assert set(window.pages) == {"actionJobs", "actionSettings"}
        assert window.stack.currentWidget().objectName() == "settingsPage"
        assert find(window, QAction, "actionNewJob").isEnabled()
        find(window, QAction, "actionJobs").trigger()
        assert find(window, QTableView, "jobsTable").isVisibleTo(window)
        find(window, QAction, "actionReports").trigger()  # made when first shown
        assert set(window.pages) == {"actionJobs", "actionSettings", "actionReports"}
        assert window.stack.currentWidget().objectName() == "reportsPage"
        finish_pages_later(window)  # the rest: loaded off the GUI thread, then made
        qtbot.waitUntil(lambda: len(window.pages) == 4, timeout=10_000)
        assert [window.stack.widget(i).objectName() for i in range(window.stack.count())] \
            == ["jobsPage", "reportsPage", "notificationsPage", "settingsPage"]
        assert not window.findChildren(QLabel, "areaLoadingLabel") or all(
            not label.isVisibleTo(window) for label in
            window.findChildren(QLabel, "areaLoadingLabel"))
    finally:
        close_window(window)


def test_the_first_page_shows_before_the_workspace_opens_and_nothing_is_lost(qtbot, settings):
    from PySide6.QtWidgets import QPushButton

    from opentrain_desk.app import open_workspace, show_first_page
    from opentrain_desk.sandbox.demo import seed_demo
    seeded = open_workspace(settings)
    seed_demo(seeded.uow)
    seeded.close()
    frame = MainWindow(settings, open_demo=lambda: None)
    qtbot.addWidget(frame)
    frame.show()
    show_first_page(frame, settings)  # read straight from the file, SQLAlchemy unused
    page = frame.jobs_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    assert not frame.ctx.opened and page.job_view is None
    assert not find(frame, QPushButton, "newJobButton").isEnabled()
    page.table.selectRow(1)  # chosen while the workspace opens: shown once it has
    chosen = page.model.row_at(1).id
    assert page.right.currentWidget() is page.pick_hint
    assert page.pick_hint.text() == "Opening the workspace…"
    window = build_window(settings, window=frame, workspace=open_workspace(settings),
                          all_pages=False, ctx=frame.ctx)
    try:
        assert window.ctx.opened and window.ctx.read is window.workspace.read
        assert find(window, QPushButton, "newJobButton").isEnabled()
        qtbot.waitUntil(lambda: page.job_view is not None and page.job_view.job is not None
                        and page.job_view.job.id == chosen)
        assert page.right.currentWidget() is page.job_view
        page.search.setText("Medical")  # every list works now, through SQLAlchemy
        qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not page.model.is_loading)
        assert "Medical" in page.model.row_at(0).title
    finally:
        close_window(window)
