"""Stripe keys live only in the OS keyring: one entry per workspace, never on disk here.

No plaintext fallback: where the keyring has no usable backend (a headless Linux
without Secret Service, say) saving a key is refused with an explanation.
"""
from __future__ import annotations

from types import ModuleType

from .domain.errors import DomainError

SERVICE = "OpenTrain Desk"


class KeyringUnavailable(DomainError):
    def __init__(self, backend: str) -> None:
        super().__init__(
            "No secure OS keyring is available on this computer (backend: "
            f"{backend}), so the Stripe key cannot be stored safely. Install or unlock "
            "your system keychain (Windows Credential Manager, macOS Keychain, or a "
            "Secret Service such as GNOME Keyring / KWallet on Linux) and try again. "
            "OpenTrain Desk never stores keys in plain files.")


def _keyring() -> ModuleType:
    """``keyring``, imported when a secret is first needed (not while the window opens:
    the import and the backend search take a tenth of a second)."""
    import keyring
    import keyring.errors
    return keyring


def _insecure(backend) -> bool:
    from keyring.backends import fail as fail_backend
    name = type(backend).__module__
    return (isinstance(backend, fail_backend.Keyring) or backend.priority < 1
            or "keyrings.alt" in name or "PlaintextKeyring" in type(backend).__name__)


class KeyringSecretStore:
    """Implements the SecretStore port over ``keyring``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def backend_name(self) -> str:
        backend = _keyring().get_keyring()
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def available(self) -> bool:
        return not _insecure(_keyring().get_keyring())

    def _require(self) -> None:
        if not self.available():
            raise KeyringUnavailable(self.backend_name())

    def get(self, name: str) -> str | None:
        if not self.available():
            return None
        try:
            return _keyring().get_password(self.service, name)
        except _keyring().errors.KeyringError:
            return None

    def set(self, name: str, secret: str) -> None:
        self._require()
        try:
            _keyring().set_password(self.service, name, secret)
        except _keyring().errors.KeyringError as error:
            raise KeyringUnavailable(f"{self.backend_name()}: {type(error).__name__}") from None

    def delete(self, name: str) -> None:
        self._require()
        try:
            _keyring().delete_password(self.service, name)
        except _keyring().errors.PasswordDeleteError:
            pass  # already gone
