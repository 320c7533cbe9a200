"""Secrets at rest: the tokens and keys the router must use again (channels' access tokens, llm
agents' api keys) are stored encrypted, so a copy of the database is not a copy of every tenant's
WhatsApp number.

- `keyring.py`: the key ring from ROUTER_ENCRYPTION_KEYS (Fernet keys; the first encrypts, each
  decrypts), else from a key file made on first start; the process's ring.
- `columns.py`: `EncryptedText` and `EncryptedJSON`, the column types every stored secret uses.
- `stored.py`: the stored secrets found through those types, counted and rotated in batches.
- `start.py`: `open_secrets`, which every entry point calls before it touches the database; it
  refuses a ring that cannot read what is stored.
- `__main__.py`: `python -m app.secrets rotate | check | generate-key`.

Only the first two are imported here: the models import this package, and the last three import
the models.
"""

from app.secrets.columns import EncryptedJSON, EncryptedText
from app.secrets.keyring import KeyRing, KeyRingError, SecretUnreadable, generate_key

__all__ = [
    "EncryptedJSON",
    "EncryptedText",
    "KeyRing",
    "KeyRingError",
    "SecretUnreadable",
    "generate_key",
]
