"""The key ring: what it encrypts and reads, the keys it refuses (named by position, never shown),
and the key file a router without ROUTER_ENCRYPTION_KEYS makes and keeps."""

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import respx
from structlog.testing import capture_logs

from app.secrets.keyring import (
    PREFIX,
    KeyRing,
    KeyRingError,
    SecretUnreadable,
    create_key_file,
    read_key_file,
)
from app.secrets.start import ring_from
from app.settings import Settings, SettingsError, ToolSettings, load_settings

from ..conftest import running_router
from ..graph_api import GraphApi
from .conftest import every_number_sends, keyed, new_key, set_up_numbers

TOKEN = "EAAG-a-token-91c3"
A_KEY = "zSRlj32X8gZSWlPJLieaEY9dR3ASbe_BV_r-r3kLiSo="  # a Fernet key, the same in every worker


def test_the_first_key_encrypts_and_every_key_reads() -> None:
    old, new = new_key(), new_key()
    before = KeyRing.from_text(old)
    both = KeyRing.from_text(f" {new} , {old} ")  # spaces around the commas are fine

    stored = before.encrypt(TOKEN)
    rotated = both.rotated(stored)

    assert stored.startswith(PREFIX)
    assert TOKEN not in stored
    assert before.encrypt(TOKEN) != stored  # a new ciphertext each time
    assert both.decrypt(stored) == TOKEN
    assert rotated is not None
    assert KeyRing.from_text(new).decrypt(rotated) == TOKEN
    assert both.rotated(rotated) is None  # already under the first key
    assert both.decrypt(TOKEN) == TOKEN  # stored in clear before the migration: read as it is
    assert both.rotated(TOKEN) is not None  # and encrypted by the next rotation
    assert repr(both) == "KeyRing(2 keys)"


def test_a_secret_no_key_reads_is_an_error_naming_the_setting() -> None:
    stored = KeyRing.from_text(new_key()).encrypt(TOKEN)
    unrelated = KeyRing.from_text(new_key())

    with pytest.raises(SecretUnreadable, match="ROUTER_ENCRYPTION_KEYS"):
        unrelated.decrypt(stored)
    with pytest.raises(SecretUnreadable):
        unrelated.rotated(stored)
    assert not unrelated.readable(stored)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "holds no key"),
        (" , ", "holds no key"),
        ("not-a-fernet-key", "the 1st key is not a Fernet key"),
        (f"{A_KEY},short-one", "the 2nd key is not a Fernet key"),
    ],
    ids=["empty", "commas", "not a key", "the second not a key"],
)
def test_a_bad_key_is_named_by_its_position_never_its_value(text: str, reason: str) -> None:
    with pytest.raises(KeyRingError) as refused:
        KeyRing.from_text(text)

    assert reason in str(refused.value)
    for part in text.split(","):
        if part.strip():
            assert part.strip() not in str(refused.value)


def test_a_bad_setting_stops_the_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", f"{new_key()},oops-this-is-no-key")

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert "ROUTER_ENCRYPTION_KEYS" in str(refused.value)
    assert "2nd key is not a Fernet key" in str(refused.value)
    assert "oops-this-is-no-key" not in str(refused.value)


def test_an_empty_setting_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ToolSettings.model_config, "env_file", None)
    monkeypatch.setenv("ROUTER_ENCRYPTION_KEYS", "")

    assert ToolSettings().router_encryption_keys is None
    assert ToolSettings(router_encryption_keys=" ").router_encryption_keys is None


def test_the_key_file_is_made_once_for_this_user_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "encryption.key"

    made = create_key_file(path)
    again = create_key_file(path)

    assert (made, again) == (True, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = read_key_file(path)
    assert ring.decrypt(ring.encrypt(TOKEN)) == TOKEN
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]  # no draft left


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: create_key_file(path), range(8)))
        keys = set(pool.map(lambda _: path.read_text(), range(8)))

    assert made.count(True) == 1
    assert len(keys) == 1


def test_a_key_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"
    create_key_file(path)
    path.chmod(0o644)

    with capture_logs() as logs:
        ring_from(ToolSettings(router_encryption_key_file=path), "sqlite+aiosqlite:///x.db")

    assert [e["event"] for e in logs] == ["secrets.key_file_readable_by_others", "secrets.key_file"]
    assert path.read_text().strip() not in repr(logs)


def test_a_key_file_shared_by_a_database_server_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"

    with capture_logs() as logs:
        ring_from(ToolSettings(router_encryption_key_file=path), "postgresql+asyncpg://db/router")

    [created] = logs
    assert (created["event"], created["log_level"]) == ("secrets.key_file_created", "warning")
    assert "ROUTER_ENCRYPTION_KEYS" in created["detail"]


async def test_a_router_without_the_setting_makes_its_key_file_and_the_key_moves_to_the_setting(
    tmp_path: Path,
    mock_http: respx.MockRouter,
    server_route: respx.Route,
    graph_route: GraphApi,
    llm_route: respx.Route,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'router.db'}"
    path = tmp_path / "data" / "encryption.key"
    async with running_router(keyed(store, router_encryption_key_file=path)) as router:
        await set_up_numbers(router, mock_http)
        await every_number_sends(router, graph_route, llm_route, "file")
    key = path.read_text().strip()
    logged = capsys.readouterr().out  # the router's console lines

    [made] = [line for line in logged.splitlines() if "secrets.key_file_created" in line]
    assert f"path={path}" in made
    assert key not in logged
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # docs/security.md: the file's key, set as ROUTER_ENCRYPTION_KEYS; the file is not needed.
    elsewhere = tmp_path / "elsewhere" / "encryption.key"
    settings = keyed(store, key, router_encryption_key_file=elsewhere)
    async with running_router(settings) as router:
        await every_number_sends(router, graph_route, llm_route, "setting")
    assert not elsewhere.exists()
