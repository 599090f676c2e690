"""Entry point of the frozen application (PyInstaller's script; see build.spec).

Kept tiny: everything happens in ``opentrain_desk.app.main``. On Windows the frozen app is
a GUI program with no console, so command-line modes that print (``--self-check``,
``--version``, ``--help``) attach to the console of the shell that started them.
"""
import os
import sys

CONSOLE_FLAGS = {"--self-check", "--version", "--help", "-h", "--restore",
                 "--benchmark-startup"}


def _attach_parent_console() -> None:
    if os.name != "nt" or sys.stdout is not None:
        return
    if not CONSOLE_FLAGS.intersection(arg.split("=", 1)[0] for arg in sys.argv[1:]):
        return
    import ctypes
    if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
        sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace")
        sys.stderr = open("CONOUT$", "w", encoding="utf-8", errors="replace")


if __name__ == "__main__":
    _attach_parent_console()
    from opentrain_desk.app import main

    sys.exit(main(sys.argv[1:]))
