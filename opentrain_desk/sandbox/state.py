"""Saving and loading the sandbox emulator's state: localstripe's store
(every emulated object) and the completed idempotency records, pickled into
one file that is replaced atomically.

Part of :mod:`opentrain_desk.sandbox.emulator` (``SandboxStripe.save_state``,
``load_state`` and ``state_path``).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from localstripe.resources import store

from .idempotency import IDEMPOTENCY

_STATE_FORMAT_KEY = "__format__"  # no store key: those are "object:id"
_STATE_FORMAT = "opentrain-desk-sandbox/2"


def _dump_state() -> bytes:
    """localstripe's store and the completed idempotency records, pickled
    (on the server loop: a consistent snapshot)."""
    state = {_STATE_FORMAT_KEY: _STATE_FORMAT, "store": dict(store),
             "idempotency": IDEMPOTENCY.snapshot()}
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def _write_state(path: Path) -> None:
    """Atomically replace ``path`` (tmp file, fsync, rename, fsync the folder)."""
    data = _dump_state()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

def load_state(path: Path) -> bool:
    """Replace the emulator's objects and idempotency records with those
    saved in ``path``. Also reads files that hold only localstripe's store
    (written before idempotency records were saved)."""
    try:
        saved = pickle.loads(Path(path).read_bytes())
    except (FileNotFoundError, pickle.UnpicklingError, EOFError, AttributeError,
            ImportError, ValueError, TypeError):
        return False
    if not isinstance(saved, dict):
        return False
    objects, records = (saved["store"], saved["idempotency"]) \
        if saved.get(_STATE_FORMAT_KEY) == _STATE_FORMAT else (saved, {})
    dict.clear(store)
    dict.update(store, objects)
    IDEMPOTENCY.restore(records)
    return True
