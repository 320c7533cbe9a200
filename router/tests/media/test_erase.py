"""A contact's files deleted on request: gone from the blob store, their messages kept with their
`media` failed and the reason."""

import httpx
import pytest
import respx

from .conftest import TOKEN, MediaWorld, media_webhook
from .fake_graph import JPEG, PDF

pytestmark = pytest.mark.timeout(60)


def files_in(world: MediaWorld) -> list[str]:
    root = world.router.state.settings.router_media_dir / "t"
    return [str(p) for p in root.rglob("*") if p.is_file()]


async def test_a_contacts_files_are_erased_and_their_messages_kept(media: MediaWorld) -> None:
    for n, (content, kind, mime) in enumerate(
        [(JPEG, "image", "image/jpeg"), (PDF, "document", "application/pdf")]
    ):
        sha = media.meta.add(f"61{n}", content, mime, TOKEN)
        await media.post(media_webhook(kind, f"61{n}", sha, f"wamid.erase{n}"))
    first = await media.message("wamid.erase0")
    second = await media.message("wamid.erase1")
    await media.media_of(first.id, "stored")
    await media.media_of(second.id, "stored")
    assert len(files_in(media)) == 2
    path = f"/api/v1/contacts/{first.contact_id}/media"

    assert (await media.call("DELETE", path)).status_code == 403  # an agent may not
    assert (await media.call("DELETE", path, media.other_key)).status_code == 404
    answer = await media.call("DELETE", path, media.owner_key)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"erased": 2}
    assert files_in(media) == []
    erased = await media.media_of(first.id, "failed")
    assert erased["error"].startswith("erased")
    served = await media.call("GET", erased["url"])
    assert served.status_code == 409
    again = await media.call("DELETE", path, media.owner_key)
    assert again.json() == {"erased": 0}


async def test_health_reports_the_media_store_without_failing_for_it(
    media_everywhere: MediaWorld, mock_http: respx.MockRouter
) -> None:
    import shutil

    from ..conftest import SERVER_URL

    mock_http.get(f"{SERVER_URL}/health").mock(return_value=httpx.Response(200))
    up = await media_everywhere.router.client.get("/health")
    assert up.json()["checks"]["media"] == "up"
    store = media_everywhere.router.state.media_store
    if store.kind == "local":
        shutil.rmtree(store.spool)
    else:
        client = store._client  # type: ignore[attr-defined]
        await client.delete_bucket(Bucket=store._bucket)  # type: ignore[attr-defined]
    down = await media_everywhere.router.client.get("/health")
    assert down.status_code == 200
    assert down.json()["checks"]["media"].startswith("down")


async def test_a_store_that_refuses_the_file_fails_the_file_not_the_message(
    media_everywhere: MediaWorld,
) -> None:
    from .conftest import media_webhook

    world = media_everywhere
    store = world.router.state.media_store
    if store.kind == "local":
        (world.router.state.settings.router_media_dir / "t").write_bytes(b"")  # no directory
    else:
        await store._client.delete_bucket(Bucket=store._bucket)  # type: ignore[attr-defined]
    sha = world.meta.add("880", JPEG, "image/jpeg", TOKEN)
    await world.post(media_webhook("image", "880", sha, "wamid.nostore", caption="see"))
    message = await world.message("wamid.nostore")

    failed = await world.media_of(message.id, "failed")
    assert failed["error"].startswith("the media store did not take the file")
    await world.router.settle()
    shown = (await world.call("GET", f"/api/v1/messages/{message.id}")).json()
    assert shown["status"] == "replied"  # its caption answered all the same
