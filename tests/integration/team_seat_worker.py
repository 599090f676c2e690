"""One seat of a team workspace, as its own process: opens the workspace like the app does
(``Workspace`` on the shared PostgreSQL database, its own Stripe gateway on the shared
emulator) and runs the payment worker the composition root would give it, until the
file named by the last argument appears. Prints how many operations it sent."""
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from opentrain_desk.config import Settings
from opentrain_desk.workspace import Workspace


def main(db_url: str, base_url: str, api_key: str, login: str, home: str, stop: str) -> None:
    emulator = SimpleNamespace(base_url=base_url, api_key=api_key)  # shared, not ours
    settings = Settings(home=Path(home), db_url=db_url, actor=login, sandbox=True)
    workspace = Workspace(settings, sandbox_server=emulator)
    sent, lock = [0], threading.Lock()

    def count(_op, _result) -> None:
        with lock:
            sent[0] += 1
    worker = workspace.payment_worker(lambda _state: None)
    worker.after_send, worker.lease, worker.idle_interval = count, timedelta(seconds=60), 0.2
    print("ready", flush=True)
    worker.start()
    while not Path(stop).exists():
        time.sleep(0.1)
        worker.wake()
    worker.stop()
    workspace.close()
    print(f"sent {sent[0]}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
