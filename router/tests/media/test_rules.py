"""The rules a file is held to, one by one: checksums in both of Meta's spellings, names that
never become paths, what a file's first bytes say, the ranges a player asks for, and the settings
an S3-compatible store needs."""

import base64
import hashlib

import pytest

from app.core.errors import RangeNotSatisfiable
from app.media.attachment import digest_hex, from_webhook
from app.media.blobs import checked, new_key
from app.media.endpoints import byte_range, disposition
from app.media.kinds import matches_signature, safe_filename
from app.settings import Settings, SettingsError, load_settings

from .fake_graph import JPEG, PNG

DIGEST = hashlib.sha256(b"a file").digest()


def test_a_checksum_is_read_from_base64_and_from_hex() -> None:
    assert digest_hex(base64.b64encode(DIGEST).decode()) == DIGEST.hex()
    assert digest_hex(base64.urlsafe_b64encode(DIGEST).decode().rstrip("=")) == DIGEST.hex()
    assert digest_hex(DIGEST.hex().upper()) == DIGEST.hex()
    # The fixtures' placeholder ("4654+8g=") is no SHA-256: ignored, the lookup's is used.
    for not_a_digest in ("4654+8g=", "", "zz", None, 7, "a" * 500):
        assert digest_hex(not_a_digest) is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\évaluation.docx", "évaluation.docx"),
        ('a"b;c\r\nd.pdf', "a_b_cd.pdf"),
        ("\x00\x1b[31mred.txt", "[31mred.txt"),
        ("name\u202etxt.exe", "nametxt.exe"),  # a right-to-left override is a control
        ("...", None),
        ("/", None),
        ("", None),
        ("x" * 300 + ".pdf", "x" * 200),
    ],
)
def test_a_filename_keeps_its_last_part_and_nothing_that_could_harm(
    given: str, kept: str | None
) -> None:
    assert safe_filename(given) == kept


def test_a_webhook_names_only_what_can_be_used() -> None:
    stored, caption = from_webhook(
        "document",
        {"id": "../../v1/me", "filename": "../x.pdf", "caption": "hi\x00", "mime_type": "x"},
    )
    assert stored["media_id"] is None
    assert stored["state"] == "failed"
    assert stored["filename"] == "x.pdf"
    assert stored["mime_type"] is None
    assert caption == "hi\ufffd"


def test_an_image_must_start_as_its_type_does() -> None:
    assert matches_signature("image/jpeg", JPEG[:16])
    assert matches_signature("image/png", PNG[:16])
    assert not matches_signature("image/png", JPEG[:16])
    assert not matches_signature("image/jpeg", b"<html><script>")
    assert matches_signature("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not matches_signature("image/webp", b"RIFF\x00\x00\x00\x00AVI ")
    assert matches_signature("video/mp4", b"anything")  # containers are not judged by a prefix


def test_ranges() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=90-500", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=-500", 100) == (0, 99)
    assert byte_range("bytes=0-1,5-9", 100) is None  # several ranges: the whole file
    assert byte_range("items=0-1", 100) is None
    for unsatisfiable in ("bytes=100-", "bytes=5-2", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(unsatisfiable, 100)


def test_a_disposition_never_carries_a_raw_name() -> None:
    assert disposition("image", "image/jpeg", None) == "inline"
    assert disposition("image", "image/svg+xml", None) == "attachment"
    assert disposition("document", "application/pdf", "évaluation.pdf") == (
        "attachment; filename=\"_valuation.pdf\"; filename*=UTF-8''%C3%A9valuation.pdf"
    )


def test_keys_name_their_tenant_and_cannot_be_guessed() -> None:
    first, second = new_key(7), new_key(7)
    assert first.startswith("t/7/")
    assert first != second
    assert checked(first) == first
    for hostile in ("t/7/../../etc/passwd", "/etc/passwd", "t/7/short", "t/x/" + "a" * 43):
        with pytest.raises(ValueError, match="not a blob key"):
            checked(hostile)


def test_an_s3_store_without_its_bucket_or_credentials_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    for name, value in {
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_ACCESS_TOKEN": "token-value-1",
        "WHATSAPP_WEBHOOK_VERIFY_TOKEN": "verify-value-1",
        "WHATSAPP_APP_SECRET": "secret-value-1",
        "ROUTER_MEDIA_S3_URL": "http://127.0.0.1:9000",
        "ROUTER_MEDIA_S3_SECRET_ACCESS_KEY": "s3-secret-value",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("ROUTER_MEDIA_S3_BUCKET", "ROUTER_MEDIA_S3_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert "ROUTER_MEDIA_S3_BUCKET, ROUTER_MEDIA_S3_ACCESS_KEY_ID" in message
    assert "s3-secret-value" not in message
