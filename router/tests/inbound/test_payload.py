"""Reading Meta's bodies: whatever a signed body holds, what comes out can be stored and sent."""

from collections.abc import Callable
from typing import Any

import pytest

from app.inbound.payload import ParsedBody, parse_body, parse_envelope

from ..meta import BSUID, PHONE_NUMBER_ID, WA_ID, fixture, text_message

Mutation = Callable[[dict[str, Any]], None]


def parsed(body: dict[str, Any]) -> ParsedBody:
    return parse_body(parse_envelope(body))


def value(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return found


def message(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = value(body)["messages"][0]
    return found


def status(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = value(body)["statuses"][0]
    return found


def test_the_real_fixtures_ids_are_read() -> None:
    body = parsed(fixture("message_text"))
    [inbound] = body.messages
    assert (inbound.phone_number_id, inbound.wa_id, inbound.user_id) == (
        PHONE_NUMBER_ID,
        WA_ID,
        BSUID,
    )
    assert not body.skipped


@pytest.mark.parametrize(
    "user_id", ["US.13491208655302741918", "US.ENT.11815799212886844830", "BR.1502576394655843"]
)
def test_bsuids_of_each_documented_shape_are_read(user_id: str) -> None:
    body = text_message("wamid.b", "hi", user_id=user_id)
    del value(body)["contacts"][0]["wa_id"]
    del message(body)["from"]
    message(body)["from_user_id"] = user_id

    [inbound] = parsed(body).messages

    assert inbound.reply_to == user_id


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("x\ud800", "x\ufffd"),
        ("\udfff lone low", "\ufffd lone low"),
        ("nul\x00inside", "nul\ufffdinside"),
        ("emoji \U0001f600 stays", "emoji \U0001f600 stays"),
        ("plain", "plain"),
    ],
)
def test_free_text_is_made_storable_and_still_answered(text: str, stored: str) -> None:
    body = text_message("wamid.t", text)
    value(body)["contacts"][0]["profile"]["name"] = text

    [inbound] = parsed(body).messages

    assert inbound.text == stored
    assert inbound.name == stored


def test_a_long_name_is_cut_to_its_column() -> None:
    body = text_message("wamid.n", "hi")
    value(body)["contacts"][0]["profile"]["name"] = "n" * 10_000

    [inbound] = parsed(body).messages

    assert inbound.name == "n" * 255


def _set(path: str, new: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = message(body)
        for key in parents:
            target = target[key]
        target[last] = new

    return mutate


UNREADABLE_MESSAGES: dict[str, Mutation] = {
    "wamid with a lone surrogate": _set("id", "wamid.\ud800"),
    "wamid of 10,000 characters": _set("id", "wamid." + "x" * 10_000),
    "wamid with NUL": _set("id", "wamid.\x00"),
    "wamid with a space": _set("id", "wamid. x"),
    "wamid a number": _set("id", 12345),
    "type of 100 characters": _set("type", "t" * 100),
    "type with a surrogate": _set("type", "text\udc00"),
    "from with letters": _set("from", "1555abc"),
    "from with a slash": _set("from", "1555/../x"),
    "from with a surrogate": _set("from", "1555\ud800"),
    "from of 100 digits": _set("from", "1" * 100),
    "from a number": _set("from", 15550001),
    "from_user_id of the wrong shape": _set("from_user_id", "not a bsuid"),
    "from_user_id with a query": _set("from_user_id", "US.1?x=1"),
    "from_user_id of 200 characters": _set("from_user_id", "US." + "1" * 200),
}


@pytest.mark.parametrize("mutate", UNREADABLE_MESSAGES.values(), ids=UNREADABLE_MESSAGES.keys())
def test_a_message_with_an_unusable_id_is_skipped_with_a_reason(mutate: Mutation) -> None:
    body = text_message("wamid.bad", "hi")
    mutate(body)

    result = parsed(body)

    assert result.messages == []
    [reason] = result.skipped
    assert reason.startswith("message skipped: ")
    assert reason.isascii()


@pytest.mark.parametrize(
    "phone_number_id", ["1/../../x?y", "12 34", "١٢٣", "1" * 65, 1122334455667, "", "1\ud800"]
)
def test_a_change_for_an_unusable_phone_number_id_is_skipped_with_a_reason(
    phone_number_id: Any,
) -> None:
    body = text_message("wamid.pn", "hi")
    value(body)["metadata"]["phone_number_id"] = phone_number_id

    result = parsed(body)

    assert result.messages == []
    [reason] = result.skipped
    assert reason.startswith("change skipped: metadata.phone_number_id")


def test_contacts_with_unusable_ids_are_not_used() -> None:
    body = text_message("wamid.c", "hi")
    del message(body)["from"]
    value(body)["contacts"][0]["wa_id"] = "1555/x"

    result = parsed(body)

    # The contact's BSUID shape was fine, but the contact as a whole is unusable: no sender left.
    assert result.messages == []
    assert result.skipped == ["message wamid.c skipped: no sender"]


@pytest.mark.parametrize("code", [2**64, 2**31, -(2**31) - 1, True, 1.5, "131026", None])
def test_an_error_code_out_of_the_columns_range_is_dropped(code: Any) -> None:
    body = fixture("status_failed_130472")
    status(body)["errors"][0]["code"] = code
    status(body)["errors"][0]["title"] = "title \ud800"

    [update] = parsed(body).statuses

    assert update.error_code is None
    assert update.error_title == "title \ufffd"


@pytest.mark.parametrize("code", [2**31 - 1, -(2**31), 0, 130472])
def test_an_error_code_in_range_is_kept(code: int) -> None:
    body = fixture("status_failed_130472")
    status(body)["errors"][0]["code"] = code

    [update] = parsed(body).statuses

    assert update.error_code == code


@pytest.mark.parametrize(
    ("field", "new"),
    [
        ("id", "wamid." + "x" * 10_000),
        ("id", "wamid.\ud800"),
        ("status", "s" * 17),
        ("status", "read\x00"),
        ("timestamp", "1" * 40),
        ("timestamp", "\ud800"),
        ("errors", 5),
        ("errors", "x"),
    ],
)
def test_a_status_with_an_unusable_value_is_skipped_with_a_reason(field: str, new: Any) -> None:
    body = fixture("status_read")
    status(body)[field] = new

    result = parsed(body)

    assert result.statuses == []
    [reason] = result.skipped
    assert reason.startswith(f"status skipped: {field}")


@pytest.mark.parametrize("key", ["messages", "statuses"])
@pytest.mark.parametrize("wrong", [5, 1.5, True, False, "text", {"id": "x"}])
def test_items_that_are_not_a_list_are_skipped_with_a_reason(key: str, wrong: Any) -> None:
    body = text_message("wamid.l", "hi")
    value(body)[key] = wrong

    result = parsed(body)

    assert len(result.messages) == (0 if key == "messages" else 1)
    assert result.skipped == [f"value.{key} skipped: not a list"]


@pytest.mark.parametrize("wrong", [5, True, "text", {"wa_id": WA_ID}, [1, None, "x"]])
def test_contacts_that_are_not_a_list_of_objects_are_ignored(wrong: Any) -> None:
    body = text_message("wamid.k", "hi")
    value(body)["contacts"] = wrong

    [inbound] = parsed(body).messages

    assert inbound.wa_id == WA_ID
    assert inbound.name is None


def test_a_long_or_odd_field_name_is_quoted_short_in_the_reason() -> None:
    body = fixture("message_text")
    body["entry"][0]["changes"][0]["field"] = "f\ud800" * 10_000

    [reason] = parsed(body).skipped

    assert len(reason) < 120
    assert reason.isascii()
