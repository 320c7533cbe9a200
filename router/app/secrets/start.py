"""Start-up: the process's key ring from the settings, and the refusal to start with a ring that
cannot read the secrets already stored (a wrong ROUTER_ENCRYPTION_KEYS would otherwise be found
one failed send at a time, and new secrets written under a key the others do not share).

Every entry point opens the secrets before it touches the database: the router's lifespan, the
seed (`python -m app.seed`), the rotation (`python -m app.secrets`); the migrations run from the
command line take the environment's ring when they first need it.
"""

import structlog
from sqlalchemy import exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.secrets.keyring import (
    SETTING,
    KeyRing,
    create_key_file,
    install,
    loose_permissions,
    read_key_file,
)
from app.secrets.stored import census
from app.settings import KeyRingSettings, SettingsError, tool_settings

log = structlog.get_logger()


class SecretsUnreadable(SettingsError):
    """Stored secrets that no key of the ring decrypts: the router does not start."""


def ring_from(settings: KeyRingSettings, database_url: str) -> KeyRing:
    """ROUTER_ENCRYPTION_KEYS' ring, else the key file's (made when it is not there)."""
    if settings.router_encryption_keys is not None:
        return KeyRing.from_text(settings.router_encryption_keys.get_secret_value())
    path = settings.router_encryption_key_file
    made = create_key_file(path)
    ring = read_key_file(path)
    if loose_permissions(path):
        log.warning(
            "secrets.key_file_readable_by_others",
            path=str(path),
            detail="other users of this machine may read the key: chmod 600 it",
        )
    shared = make_url(database_url).get_backend_name() != "sqlite"
    (log.warning if shared else log.info)(
        "secrets.key_file_created" if made else "secrets.key_file",
        path=str(path),
        detail=f"{SETTING} is not set: the secrets stored in the database are encrypted with "
        "the key in this file. Every router process on the same database needs the same key: "
        f"in production set {SETTING} (docs/security.md says how to move this key into it).",
    )
    return ring


def ring_from_environment() -> KeyRing:
    """The ring of the environment (and the repo root's .env), for tools."""
    settings = tool_settings()
    return ring_from(settings, settings.database_url)


async def refuse_unreadable(engine: AsyncEngine, ring: KeyRing, settings: KeyRingSettings) -> None:
    """Raise SecretsUnreadable when a stored secret is encrypted with no key of `ring`; nothing
    is written either way."""
    try:
        counted = await census(engine, ring)
    except (OSError, exc.OperationalError, exc.InterfaceError) as error:
        # The database may be down at start (its health check says so); a secret that cannot be
        # read is then an error of the send that needs it, naming the setting.
        log.warning(
            "secrets.not_checked",
            reason=type(error).__name__,
            detail=f"the database did not answer: whether {SETTING} reads its secrets is not known",
        )
        return
    unreadable = {c.name: c.unreadable for c in counted if c.unreadable}
    if not unreadable:
        return
    total = sum(c.encrypted for c in counted)
    where = ", ".join(f"{name}: {count}" for name, count in unreadable.items())
    if settings.router_encryption_keys is None:
        source = (
            f"{SETTING} is not set, and the key file {settings.router_encryption_key_file} does "
            "not decrypt them"
        )
    else:
        source = f"no key of {SETTING} decrypts them"
    message = (
        f"The router cannot start: {sum(unreadable.values())} of the {total} secrets stored in "
        f"the database ({where}) cannot be read: {source}. Set {SETTING} to the keys they were "
        "encrypted with (a new key first, the old ones after it), and remove an old key only "
        "once `make rotate-keys` has re-encrypted everything with the first. Nothing was changed."
    )
    log.error("secrets.unreadable", detail=message)
    await engine.dispose()  # the start ends here: no connection is left open behind it
    raise SecretsUnreadable(message)


async def open_secrets(settings: KeyRingSettings, engine: AsyncEngine) -> KeyRing:
    """The settings' key ring, installed for this process's encrypted columns, once it has been
    found to read the secrets the database holds (SecretsUnreadable otherwise)."""
    ring = ring_from(settings, engine.url.render_as_string(hide_password=True))
    await refuse_unreadable(engine, ring, settings)
    install(ring)
    return ring
