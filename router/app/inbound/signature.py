"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`."""

import re

from pywa_async import utils as pywa_utils

from app.core.errors import SignatureInvalid, SignatureMissing

SIGNATURE_HEADER = pywa_utils.HUB_SIG

# The only shape Meta sends. Checked first because PyWA compares with hmac.compare_digest, which
# raises TypeError (a 500) on a header holding anything but ASCII.
_SHAPE = re.compile(r"sha256=[0-9a-f]{64}")


def check_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise unless `header` is Meta's signature of exactly these bytes."""
    if not header:
        raise SignatureMissing(f"{SIGNATURE_HEADER} header is required")
    if not _SHAPE.fullmatch(header) or not pywa_utils.webhook_updates_validator(
        app_secret, body, header
    ):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")
