"""The key ring: Fernet keys (AES-128-CBC with HMAC-SHA256, from `cryptography`), the first of which
encrypts and every one of which decrypts, so a key can be replaced without a moment where some
stored secret cannot be read (`app/secrets/stored.py` rotates).

A stored secret is `fernet:` followed by the Fernet token. The prefix tells ciphertext from a value
written in clear by a router older than the migration that encrypts them (a rolling upgrade): such
a value reads as it is, and the next rotation encrypts it.

The process has one key ring (`install`, at start-up), which the encrypted column types use; a
process that installed none (a tool, the migrations run from the command line) takes the
environment's: ROUTER_ENCRYPTION_KEYS, else the key file.
"""

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
SETTING = "ROUTER_ENCRYPTION_KEYS"


class KeyRingError(ValueError):
    """A key that is no Fernet key; the message names its position, never its value."""


class SecretUnreadable(RuntimeError):
    """A stored secret that no key of the ring decrypts."""

    def __init__(self) -> None:
        super().__init__(
            f"a stored secret cannot be decrypted with any key of {SETTING}: the key it was "
            "encrypted with is not in the ring"
        )


def generate_key() -> str:
    """A new random Fernet key: 32 bytes, URL-safe base64."""
    return Fernet.generate_key().decode()


def _ordinal(position: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(position if position < 20 else position % 10, "th")
    return f"{position}{suffix}"


def parse_keys(text: str) -> list[bytes]:
    """The keys of `text`, separated by commas (or new lines, as a key file may hold them)."""
    entries = [entry.strip() for entry in text.replace("\n", ",").split(",")]
    keys = [entry.encode() for entry in entries if entry]
    if not keys:
        raise KeyRingError("holds no key")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise KeyRingError(
                f"the {_ordinal(position)} key is not a Fernet key (32 bytes, URL-safe base64: "
                "`python -m app.secrets generate-key` makes one)"
            ) from None
    return keys


class KeyRing:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyRingError("holds no key")
        fernets = [Fernet(key) for key in keys]
        self._first = fernets[0]
        self._any = MultiFernet(fernets)
        self.size = len(fernets)

    @classmethod
    def from_text(cls, text: str) -> "KeyRing":
        return cls(parse_keys(text))

    def __repr__(self) -> str:  # never a key
        return f"KeyRing({self.size} key{'s' if self.size > 1 else ''})"

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._first.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The secret in `stored`; a value in clear (no prefix) as it is."""
        if not is_encrypted(stored):
            return stored
        try:
            return self._any.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable() from None

    def readable(self, stored: str) -> bool:
        try:
            self.decrypt(stored)
        except SecretUnreadable:
            return False
        return True

    def rotated(self, stored: str) -> str | None:
        """`stored` encrypted with the first key, or None when it already is (a value in clear
        is encrypted); raises SecretUnreadable when no key decrypts it."""
        if is_encrypted(stored):
            try:
                self._first.decrypt(stored[len(PREFIX) :].encode())
                return None
            except InvalidToken:
                pass
        return self.encrypt(self.decrypt(stored))


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


# --- the key file: the key of a router started without ROUTER_ENCRYPTION_KEYS ---------------------


def read_key_file(path: Path) -> KeyRing:
    try:
        return KeyRing.from_text(path.read_text())
    except KeyRingError as exc:
        raise KeyRingError(f"the key file {path} {exc}") from None


def create_key_file(path: Path) -> bool:
    """Write a new key to `path`, readable by this user only, unless a file is there: True when
    this call made it. Safe with several processes starting at once: the key is written whole to a
    file of its own, then linked to `path`, which only one of them can do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    # A name of its own (mkstemp makes it 0600 for this user alone), then linked to `path`.
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    draft = Path(name)
    try:
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask
            os.write(descriptor, (generate_key() + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.link(draft, path)
        return True
    except FileExistsError:
        return False  # another process made it first: its key is the one
    finally:
        draft.unlink()


def loose_permissions(path: Path) -> bool:
    """Whether users other than the owner may read or write the key file."""
    return bool(path.stat().st_mode & 0o077)


# --- the process's key ring -----------------------------------------------------------------------

_installed: KeyRing | None = None


def install(ring: KeyRing) -> None:
    """Make `ring` the one the encrypted columns of this process use."""
    global _installed
    _installed = ring


def installed() -> KeyRing | None:
    return _installed


def active() -> KeyRing:
    """The process's key ring: the installed one, else the environment's (installed then)."""
    if _installed is None:
        from app.secrets.start import ring_from_environment

        install(ring_from_environment())
    assert _installed is not None
    return _installed
