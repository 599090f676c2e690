"""``hygiene.faults`` spells SQLite's result codes out (start-up does not import sqlite3):
they must be sqlite3's own."""
import sqlite3

from opentrain_desk.hygiene import faults


def test_the_spelled_out_result_codes_are_sqlites():
    for name in ("SQLITE_PERM", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY",
                 "SQLITE_CORRUPT", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_AUTH",
                 "SQLITE_NOTADB"):
        assert getattr(faults, name) == getattr(sqlite3, name), name


def test_a_busy_sqlite_error_is_still_recognised():
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = sqlite3.SQLITE_BUSY | (1 << 8)  # an extended code
    assert faults.runtime_kind(error) == "busy"
    assert faults.runtime_kind(sqlite3.OperationalError("disk I/O: readonly database")) \
        == "read-only"
