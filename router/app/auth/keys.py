"""Tenant API keys: `wr_live_<public id>_<secret>`.

The prefix makes a leaked key recognisable (secret scanners, logs); the public id finds the key's
row without a secret-dependent lookup; only a SHA-256 of the secret is stored (a 256-bit random
secret needs no slow hash) and it is compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "wr_live_"
_PUBLIC_ID_BYTES = 6
_SECRET_BYTES = 32
_SHAPE = re.compile(rf"^{PREFIX}([0-9a-f]{{{_PUBLIC_ID_BYTES * 2}}})_([A-Za-z0-9_-]{{20,128}})$")


@dataclass(frozen=True, slots=True)
class NewKey:
    public_id: str
    secret_hash: str
    key: str  # shown once, to whoever created it


@dataclass(frozen=True, slots=True)
class PresentedKey:
    public_id: str
    secret: str


def new_key() -> NewKey:
    public_id = secrets.token_hex(_PUBLIC_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(public_id, hash_secret(secret), f"{PREFIX}{public_id}_{secret}")


def parse(key: str) -> PresentedKey | None:
    """The parts of a key of ours; None for anything else."""
    match = _SHAPE.match(key)
    return PresentedKey(match[1], match[2]) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(presented: PresentedKey, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(presented.secret).encode(), secret_hash.encode())


def display_prefix(public_id: str) -> str:
    """What lists show of a key: enough to recognise it, nothing to use it."""
    return f"{PREFIX}{public_id}"
