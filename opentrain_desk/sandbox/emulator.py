"""Embedded Stripe emulator for ``--sandbox`` mode and integration tests.

Built on localstripe (GPL-3.0: a sandbox/test dependency only, never bundled in
the frozen build). localstripe covers customers, payment methods, payment
intents, charges, refunds, ...; :class:`SandboxStripe` runs it *in-process* on
127.0.0.1 in a daemon thread with its own asyncio loop, with what the app needs
and localstripe lacks, shaped like Stripe's real API, one module per concern:

* :mod:`.base`: process-wide localstripe adjustments (made on import: no
  pickling to ``/tmp/localstripe.pickle``, ``PaymentIntent.latest_charge`` as
  an id, ``pm_card_authenticationRequired``), Stripe-shaped errors and
  parameter parsing; :mod:`.lists` (Stripe list semantics) and :mod:`.routing`
  (request and answer helpers).
* :mod:`.connect`: ``/v1/accounts`` (Express accounts, not ready until
  onboarded), ``/v1/account_links`` and the sandbox-only onboarding routes.
* :mod:`.transfers`: ``/v1/transfers`` with Stripe's balance rules and
  ``GET /v1/balance``.
* :mod:`.payments`: ``GET /v1/payment_intents?customer=...`` (localstripe
  rejects that filter) and ``GET /v1/charges`` lists, newest first.
* :mod:`.refunds`: refunds with Stripe's limits and their list.
* :mod:`.subscriptions`: sandbox-only subscription renewal.
* :mod:`.faults`, :mod:`.idempotency`: Stripe's ``Idempotency-Key`` semantics
  and fault injection before or after execution (``/_sandbox/faults``);
  :mod:`.application` builds the aiohttp app (authentication, routes).
* Extension modules: :mod:`.events` (the event list, newest first, that the
  app reads instead of webhooks), :mod:`.disputes`, :mod:`.transfer_reversals`,
  :mod:`.bank_debits` (US bank account debits that stay ``processing`` until
  the sandbox settles them) and :mod:`.refund_failures`.
* :mod:`.state`: optional persistence (``state_path``): the state is written to
  disk after each write request, *before* the answer is sent, so a killed
  emulator restarts with every object it ever acknowledged.
* :mod:`.shortcuts`: the Python shortcuts for the ``/_sandbox/`` routes.

Because localstripe's store is process-global, only one :class:`SandboxStripe`
may run at a time in a process (the idempotency records are process-global too).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeoutError
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from aiohttp import web
from localstripe.resources import store  # noqa: F401 - re-exported (tests read the store)

# Re-exported: the emulator's public API, and state files pickled Account and
# Transfer as opentrain_desk.sandbox.emulator.* before the split.
from .application import REVOKED_KEYS, _clear_all_state, build_app  # noqa: F401
from .base import stripe_error  # noqa: F401
from .connect import Account
from .faults import (  # noqa: F401
    AFTER,
    API_KEY_STATE,
    BEFORE,
    CONFIG_PREFIX,
    MAX_FAULT_DELAY_SECONDS,
    SANDBOX_PREFIX,
    Fault,
    FaultInjector,
    IdempotencyStore,
    api_middleware,
)
from .idempotency import IDEMPOTENCY
from .shortcuts import SandboxShortcuts
from .state import _write_state
from .state import load_state as _load_state
from .transfers import Transfer, platform_available  # noqa: F401

__all__ = ["Account", "Fault", "FaultInjector", "IdempotencyStore", "SandboxStripe", "Transfer"]

HOST = "127.0.0.1"

_T = TypeVar("_T")


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

class SandboxStripe(SandboxShortcuts):
    """In-process Stripe emulator (localstripe + Connect/transfer extensions).

    Usage::

        with SandboxStripe() as sandbox:
            client = stripe.StripeClient(SandboxStripe.api_key,
                                         base_addresses={"api": sandbox.base_url})

    State lives in localstripe's process-global store: it survives
    ``stop()``/``start()`` and is cleared only by :meth:`reset`. With
    ``state_path`` it is also written to that file after every write request,
    before the answer is sent, and loaded from it by :meth:`start`.
    """

    #: Fixed, obviously non-secret key; localstripe accepts any ``sk_...``.
    api_key: ClassVar[str] = "sk_test_sandbox_localstripe"

    _active: ClassVar[SandboxStripe | None] = None
    _active_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, port: int = 0, *, state_path: Path | None = None,
                 shutdown_timeout: float = 2.0) -> None:
        """``port=0`` picks a free port on the first start; later starts
        re-bind the same port. ``state_path``: see the class docstring."""
        self._port = port
        self._state_path = Path(state_path) if state_path is not None else None
        self._shutdown_timeout = shutdown_timeout
        self.faults = FaultInjector()
        self.idempotency = IDEMPOTENCY
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        """The bound port (the requested one before the first start)."""
        return self._port

    @property
    def base_url(self) -> str:
        if self._port == 0:
            raise RuntimeError("SandboxStripe has no port yet: call start() first")
        return f"http://{HOST}:{self._port}"

    def start(self, timeout: float = 10.0) -> SandboxStripe:
        """Serve on 127.0.0.1; returns once the server accepts connections."""
        if self.running:
            raise RuntimeError("SandboxStripe is already running")
        self._claim()
        try:
            if self._state_path is not None and self._state_path.exists():
                if not self.load_state(self._state_path):
                    raise RuntimeError(f"unreadable sandbox state file: {self._state_path}")
            self._start_server(timeout)
        except BaseException:
            self._teardown(timeout)
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (connections are refused); state is kept. Idempotent."""
        if self._loop is None:
            return
        self._teardown(timeout)

    def __enter__(self) -> SandboxStripe:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- state ------------------------------------------------------------

    def reset(self) -> None:
        """Clear ALL state: localstripe objects (customers, payment intents,
        charges, ... and our accounts, transfers, reversals, disputes and
        events, all in its store), webhook
        registrations, fault rules and idempotency records."""
        self._call(self._changed_by, _clear_all_state, self.faults)

    def save_state(self, path: Path) -> None:
        """Write every emulated object and idempotency record to ``path``
        (atomically) so a later start can continue where this one stopped (the
        app's sandbox workspaces use this)."""
        self._call(_write_state, Path(path))

    @staticmethod
    def load_state(path: Path) -> bool:
        """Replace the emulator's objects and idempotency records with those
        saved in ``path`` (before start). Also reads files that hold only
        localstripe's store (written before idempotency records were saved)."""
        return _load_state(path)

    # -- internals --------------------------------------------------------

    def _claim(self) -> None:
        with SandboxStripe._active_lock:
            if SandboxStripe._active is not None and SandboxStripe._active is not self:
                raise RuntimeError(
                    "another SandboxStripe is running in this process "
                    "(localstripe's store is process-global)"
                )
            SandboxStripe._active = self

    def _release(self) -> None:
        with SandboxStripe._active_lock:
            if SandboxStripe._active is self:
                SandboxStripe._active = None

    def _start_server(self, timeout: float) -> None:
        sock = _bind(self._port)
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=_run_loop, args=(loop,), name=f"sandbox-stripe-{self._port}", daemon=True
        )
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(sock), loop)
        self._runner = future.result(timeout)
        self._check_accepting(timeout)

    async def _serve(self, sock: socket.socket) -> web.AppRunner:
        app = build_app(self.faults, self.idempotency, self._persist)
        runner = web.AppRunner(app, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        return runner

    def _check_accepting(self, timeout: float) -> None:
        with socket.create_connection((HOST, self._port), timeout=timeout):
            pass

    def _teardown(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        try:
            if loop is not None and thread is not None and thread.is_alive():
                self._stop_loop(loop, thread, timeout)
        finally:
            self._loop = self._thread = self._runner = None
            self._release()

    def _stop_loop(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread,
                   timeout: float) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError("SandboxStripe loop thread did not stop")

    async def _shutdown(self) -> None:
        """Close the listener and connections, then cancel leftover tasks
        (localstripe's delayed webhook sends)."""
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _changed_by(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run ``func`` (a change made outside a request) and persist."""
        result = func(*args)
        self._persist()
        return result

    def _persist(self) -> None:
        """With ``state_path``: write the state (called on the server loop
        after each write request, before its answer is sent)."""
        if self._state_path is not None:
            _write_state(self._state_path)

    def _call(self, func: Callable[..., _T], *args: Any) -> _T:
        """Run ``func`` on the server loop (the store's owner) when running,
        else directly."""
        if self._loop is None:
            return func(*args)

        async def invoke() -> _T:
            return func(*args)

        try:
            return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(10.0)
        except FutureTimeoutError:
            raise RuntimeError("SandboxStripe loop did not answer within 10 s") from None


def main(argv: list[str] | None = None) -> None:
    """``python -m opentrain_desk.sandbox.emulator [--port N] [--state FILE]``:
    serve until stdin closes (or the process is killed).

    Prints ``ready <base_url>`` once it accepts connections (benchmarks run the
    emulator in its own process, as Stripe is a remote service). With
    ``--state`` every write is on disk before it is answered, and a restart on
    the same file continues with the same objects and idempotency keys."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Embedded Stripe emulator (sandbox)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, default=None, metavar="FILE",
                        help="load the state from FILE and write it there after every write")
    args = parser.parse_args(argv)
    server = SandboxStripe(port=args.port, state_path=args.state).start()
    print(f"ready {server.base_url}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    main()
