"""Composition root: the only module that wires every layer together."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from . import __version__
from .config import APP_ID, APP_NAME, Settings, plain_sqlite_file

log = logging.getLogger("opentrain_desk")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=APP_ID, description=APP_NAME,
        epilog="Team workspaces: opentrain-desk team {init,add,role,deactivate,reactivate,"
               "reset-password,list,migrate} … (see opentrain-desk team --help).")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--db", metavar="URL",
                        help="SQLAlchemy database URL (default: a SQLite file in the "
                             "per-user data folder)")
    parser.add_argument("--demo", action="store_true", help="open the seeded demo workspace")
    parser.add_argument("--sandbox", action="store_true",
                        help="use the embedded Stripe emulator instead of the live Stripe API")
    parser.add_argument("--self-check", action="store_true",
                        help="check this installation on a temporary workspace (database, "
                             "PDF, keyring, Qt), print one line and exit (0 = ok)")
    parser.add_argument("--restore", metavar="BACKUP",
                        help="replace the workspace chosen by --db/--demo/--sandbox with a "
                             "backup file (the app must not be running on it), then exit")
    # hidden: used by the frozen-build test and benchmarks/cold_start.py
    parser.add_argument("--check-stripe", action="store_true",
                        help="print every difference between the books and Stripe "
                             "(exit 1 when there are any) and quit")
    parser.add_argument("--screenshot", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--benchmark-startup", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(db_url=args.db, demo=args.demo, sandbox=args.sandbox)


def setup_logging(settings: Settings) -> bool:
    """Rotating log in the per-user log folder; Stripe keys and tokens redacted. When the
    folder cannot be written (read-only, disk full) the log goes to stderr instead."""
    from .hygiene.logs import install_file_logging, install_stderr_logging
    try:
        install_file_logging(settings.log_dir)
        return True
    except OSError as error:
        install_stderr_logging()
        log.warning("cannot write the log in %s (%s); logging to the terminal instead",
                    settings.log_dir, error.strerror or error)
        return False


STRIPE_START_DELAY_MS = 400
FIRST_PAGE_WAIT_MS = 1500  # start-up waits at most this for the first page of jobs

#: What filling the frame in needs beyond the first page of jobs (whose modules the GUI
#: thread has loaded already), loaded off the GUI thread (``hygiene.startup.in_background``)
#: before the workspace opens there too.
FIRST_PAGE_MODULES = ("opentrain_desk.workspace", "opentrain_desk.ui.sync",
                      "opentrain_desk.ui.mail_sync", "opentrain_desk.ui.live",
                      "opentrain_desk.ui.roles", "opentrain_desk.hygiene.banner")
#: The other areas' pages: loaded once the first jobs are on screen, then made.
OTHER_PAGE_MODULES = ("opentrain_desk.ui.views.notifications_page",
                      "opentrain_desk.ui.desktop_notices",
                      "opentrain_desk.ui.views.reports.page",
                      "opentrain_desk.ui.views.settings")


def open_workspace(settings: Settings, sandbox_server=None, password: str | None = None):
    """The workspace (database open and migrated, Stripe and mail links): no Qt, so it
    may run on a helper thread while the window paints."""
    from .workspace import Workspace
    return Workspace(settings, sandbox_server, password)


def first_page_context(settings: Settings, reader, on_open_demo=None):
    """Start-up: the context the jobs page shows the first page of jobs with while the
    workspace opens (``reader``: ``persistence.first_page.FirstPageReader``)."""
    return _new_context(settings, reader, on_open_demo)


def _new_context(settings: Settings, read, on_open_demo=None):
    """A context with its executors and ``read``, the workspace not attached yet."""
    from .ui.context import AppContext
    from .ui.ops import Ops
    db, net = Ops("db"), Ops("net", retry_busy=False)
    files = Ops("files", workers=2, retry_busy=False)
    return AppContext(settings, None, read, db, net, files, open_demo=on_open_demo)


def build_window(settings: Settings, on_open_demo=None, sandbox_server=None,
                 password: str | None = None, *, window=None, workspace=None,
                 all_pages: bool = True, ctx=None):
    """Open the workspace and build the main window (used by main() and tests).
    ``password``: a signed-in team member's (``hygiene/sign_in.py``), kept in memory.
    ``window``: a frame already on screen to fill in; ``workspace``: one already open
    (``open_workspace``); ``all_pages``: make every area's page now, else the jobs page
    alone (the others when first shown, or ``window.build_all_pages()``); ``ctx``: the
    frame's first-page context (``first_page_context``), completed here."""
    from PySide6.QtCore import QTimer

    from .ui.mail_sync import MailSyncController
    from .ui.main_window import MainWindow
    from .ui.sync import SyncController

    if workspace is None:
        workspace = open_workspace(settings, sandbox_server, password)
    if ctx is None:
        ctx = _new_context(settings, workspace.read, on_open_demo)
    sync = SyncController(workspace.read, workspace.stripe, ctx.db, workspace.payment_worker,
                          sender=workspace.payments_sender(), me=settings.actor)
    mail_sync = MailSyncController(workspace.mail_worker)
    sync.paymentsChanged.connect(mail_sync.wake)  # a payment outcome may owe a message
    first_page = ctx.read
    ctx.settings, ctx.read, ctx.stripe, ctx.sync, ctx.mail, ctx.mail_sync = (
        settings, workspace.read, workspace.stripe, sync, workspace.mail, mail_sync)
    ctx.workspace_label, ctx.is_team = workspace.label, workspace.is_team
    ctx.team_admin = workspace.team_admin()
    from .ui.live import LiveUpdates
    ctx.live = LiveUpdates(workspace.change_feed())  # before the views connect to it
    ctx.live.on(("stripe_operations", "workspace_settings"), sync.refresh, owner=sync)
    ctx.uow = workspace.uow  # now ``ctx.opened``
    if first_page is not workspace.read:
        first_page.attach(workspace.read)  # what waited for the real read side goes on
    if window is None:
        window = MainWindow(settings, open_demo=on_open_demo)
    window.workspace = workspace
    for child in (ctx.db, ctx.net, ctx.files, sync, mail_sync, ctx.live):
        child.setParent(window)
    window.attach(ctx)
    if all_pages:
        window.build_all_pages()
    from .hygiene.banner import install_banner
    banner = install_banner(window)  # busy / connection lost / read-only
    if workspace.read_only:  # look, export, no payments: they would have to be recorded
        banner.show_read_only()
    else:
        # Payments start once the window is up: the worker's first pass imports the Stripe
        # SDK and reads the keyring, which need not compete with the first paint.
        QTimer.singleShot(STRIPE_START_DELAY_MS, sync.start)
        QTimer.singleShot(STRIPE_START_DELAY_MS, mail_sync.start)
    ctx.live.start()
    return window


def show_first_page(frame, settings: Settings, on_open_demo=None) -> None:
    """Start-up, the frame painted: its jobs page reads the first page of jobs straight from
    the workspace file (``persistence.first_page``) while the workspace opens."""
    from .persistence.first_page import FirstPageReader
    reader = FirstPageReader(plain_sqlite_file(settings.database_url).expanduser())
    frame.attach_first_page(first_page_context(settings, reader, on_open_demo))
    model = frame.jobs_page.model
    # the workspace opens once the first page is on screen (or cannot be read early):
    # loading it meanwhile would hold the GIL the first page needs
    from .hygiene.startup import wait_until
    wait_until(lambda: not model.is_loading or reader.deferred.is_set(), FIRST_PAGE_WAIT_MS)


def finish_pages_later(window) -> None:
    """Start-up, the workspace open (its first page of jobs already on screen): load the
    other areas' modules on a worker thread, then make their pages (the notifications
    badge, desktop notices); an area opened before that is made at once."""
    import importlib

    def load() -> None:
        for name in OTHER_PAGE_MODULES:
            importlib.import_module(name)
    window.ctx.files.run(window, load, lambda _none: window.build_all_pages())


def close_window(window) -> None:
    """Stop background work and close the workspace (window close / app quit / tests)."""
    ctx = window.ctx
    ctx.sync.stop()
    if ctx.mail_sync is not None:
        ctx.mail_sync.stop()
    if ctx.live is not None:
        ctx.live.stop()
    for ops in (ctx.db, ctx.net, ctx.files):
        ops.shutdown()
    window.workspace.close()


def apply_style(app) -> None:
    """The stylesheet alone (tests and benchmarks); ``main`` applies the full theme."""
    from .hygiene.palette import base_stylesheet
    app.setStyleSheet(base_stylesheet())


def opens_early(args: argparse.Namespace, settings: Settings) -> bool:
    """The window frame can show before SQLAlchemy and the services load: a window launch
    on a plain SQLite workspace file (nothing to check on its URL, no one to sign in).
    Other URLs are checked, and team members signed in, first."""
    return (not (args.restore or args.check_stripe)
            and plain_sqlite_file(settings.database_url) is not None)


def main(argv: Sequence[str] | None = None) -> int:
    import time
    started = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["team"]:  # administering a team workspace: no window, no Qt
        from .team_cli import main as team_main
        return team_main(argv[1:])
    args = parse_args(argv)
    if args.self_check:
        from .hygiene.selfcheck import run_self_check
        return run_self_check()
    from .hygiene import startup
    settings = settings_from_args(args)
    settings.ensure_dirs()  # what it can: a read-only folder is dealt with where it matters
    setup_logging(settings)
    early = opens_early(args, settings)
    if not early:
        code = _before_window(args, settings)
        if code is not None:
            return code
    if settings.sandbox and not startup.sandbox_available():
        print("--sandbox needs the developer install (python3 dev.py run): the Stripe "
              "emulator is not part of this build.", file=sys.stderr)
        return 2
    from .hygiene.crash import install_crash_handler
    from .hygiene.instance import SingleInstanceGuard, bring_to_front
    from .hygiene.logs import route_qt_messages, unroute_qt_messages
    from .hygiene.palette import apply_theme

    app = startup.application(__version__)
    demos = startup.DemoWindows(settings, build_window, app)
    opener = startup.WindowOpener(settings, build_window,
                                  lambda s: SingleInstanceGuard(s, app), demos)
    # never two writers on one workspace: focus the first, exit (answering later launches
    # waits until the window is up when it shows early)
    if not opener.acquire(listen=not early):
        return 0
    route_qt_messages()
    crash = install_crash_handler(settings.log_dir)
    apply_theme(app)  # palette following the OS, plus resources/style.qss
    probe = None
    try:
        frame = None
        if early:  # the frame first; the workspace opens behind it (issue: fast start)
            from .ui.main_window import MainWindow
            frame = MainWindow(settings, open_demo=demos.open)
            frame.show()
            if args.screenshot or args.benchmark_startup:
                probe = startup.ReadyProbe(app, frame, args.screenshot, started)
            startup.wait_first_paint(frame)
            opener.guard.listen()
            show_first_page(frame, settings, demos.open)
        elif not _sign_in(opener):  # a team workspace: cancelled, or now open elsewhere
            return opener.exit_code
        try:
            window = opener.open(frame, preload=FIRST_PAGE_MODULES, opener=open_workspace)
        except Exception:  # e.g. a database that cannot be opened or migrated
            crash.fatal(*sys.exc_info())
            return 1
        if window is None:  # a problem the user did not resolve; said on screen and stderr
            return opener.exit_code
        settings = opener.settings
        demos.main_window = window
        guard = opener.guard
        guard.activationRequested.connect(lambda: bring_to_front(window))
        if window is frame:
            finish_pages_later(window)
        else:  # built whole (no frame, or another workspace chosen instead of the frame's)
            window.show()
        log.info("started %s %s", APP_NAME, __version__)
        if not settings.demo and not window.workspace.read_only:
            startup.schedule_daily_backup(window, settings)
        if (args.screenshot or args.benchmark_startup) and (
                probe is None or probe.window is not window):
            probe = startup.ReadyProbe(app, window, args.screenshot, started)
        # the probe may be done already (the first page showed before the workspace opened;
        # its quit ended the wait for it): no event loop to run then
        code = app.exec() if probe is None or probe.exit_code is None else 0
        for each in [window, *demos.windows]:
            close_window(each)
    finally:
        crash.uninstall()
        unroute_qt_messages()
        opener.guard.release()
        demos.release()
    return probe.exit_code if probe is not None and probe.exit_code else code


def _before_window(args: argparse.Namespace, settings: Settings) -> int | None:
    """A URL that is not a plain SQLite file, or a command-line mode: checked before any
    window (an exit code), or None to go on and open the window."""
    from pathlib import Path

    from .hygiene import startup
    from .hygiene.faults import Problem
    from .hygiene.sign_in import password_problem
    from .hygiene.workspace_open import check_url
    try:
        check_url(settings.database_url)  # a bad --db URL: nothing created yet
        refused = password_problem(args.db)  # never a password on the command line
        if refused is not None:
            raise refused
    except Problem as problem:
        return _refuse(problem, settings)
    if args.restore:
        return startup.restore_command(settings, Path(args.restore))
    if args.check_stripe:
        from .check_cli import run as check_stripe
        return check_stripe(settings)
    return None


def _sign_in(opener) -> bool:
    """A team workspace: the member signs in before the window opens (the opener then
    holds the password, in memory, and the guard of the workspace signed in to)."""
    from .hygiene.problem_dialog import interactive
    from .hygiene.sign_in import needs_sign_in, sign_in
    if not needs_sign_in(opener.settings) or not interactive():
        return True  # no screen to ask on: opened as given (its problems said as before)
    signed = sign_in(opener.settings)
    if signed is None:
        log.info("sign-in cancelled")
        return False
    settings, opener.password = signed
    if settings.database_url != opener.settings.database_url:  # another server or login
        opener.guard.release()
        opener.settings = opener.demos.settings = settings
        return opener.acquire()
    opener.settings = opener.demos.settings = settings
    return True


def _refuse(problem, settings: Settings) -> int:
    """A problem found before anything was opened: say it (stderr, log, and a dialog when
    there is a screen) and exit with its code."""
    from .hygiene import startup
    from .hygiene.problem_dialog import interactive, present
    startup.report_problem(problem)
    startup.application(__version__)
    if interactive():
        present(problem, settings.log_dir, open_other=False)
    return problem.exit_code
