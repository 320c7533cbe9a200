"""The burst debounce's turn, without a database: which of a contact's waiting messages make one
turn, how long it may still grow, and the text it sends."""

from datetime import datetime, timedelta

from app.routing.turns import MAX_TURN_MESSAGES, Waiting, burst, joined, seconds_to_wait

T0 = datetime(2026, 12, 20, 12, 0)
WINDOW = timedelta(milliseconds=1500)
CONVERSATION = 7


def at(*offsets_ms: int) -> list[Waiting]:
    return [
        Waiting(n + 1, CONVERSATION, T0 + timedelta(milliseconds=ms), f"part {n + 1}")
        for n, ms in enumerate(offsets_ms)
    ]


def ids(turn: list[Waiting]) -> list[int]:
    return [m.id for m in turn]


def test_messages_within_the_window_of_the_one_before_make_one_turn() -> None:
    # Each within 1.5 s of the one before, though the last is 3 s after the first.
    assert ids(burst(at(0, 1000, 2000, 3000), WINDOW)) == [1, 2, 3, 4]


def test_a_pause_longer_than_the_window_ends_the_turn() -> None:
    waiting = at(0, 1000, 2501, 2600)
    assert ids(burst(waiting, WINDOW)) == [1, 2]
    # The rest start the next turn, once the first one ended.
    assert ids(burst(waiting[2:], WINDOW)) == [3, 4]


def test_a_message_exactly_the_window_after_the_last_still_belongs() -> None:
    assert ids(burst(at(0, 1500), WINDOW)) == [1, 2]


def test_a_new_conversation_starts_a_new_turn() -> None:
    # The conversation was closed between two messages: the next one opened another.
    first, second, third = at(0, 100, 200)
    moved = Waiting(third.id, CONVERSATION + 1, third.created_at, third.text)
    assert ids(burst([first, second, moved], WINDOW)) == [1, 2]


def test_one_message_alone_is_a_turn_of_one() -> None:
    assert ids(burst(at(0), WINDOW)) == [1]
    assert burst([], WINDOW) == []


def test_the_turn_waits_for_the_window_after_its_last_message() -> None:
    turn = burst(at(0, 1000), WINDOW)
    assert seconds_to_wait(turn, WINDOW, T0 + timedelta(milliseconds=1200)) == 1.3
    assert seconds_to_wait(turn, WINDOW, T0 + timedelta(milliseconds=2500)) == 0.0
    assert seconds_to_wait(turn, WINDOW, T0 + timedelta(seconds=60)) == 0.0  # a restart's late


def test_a_contact_who_never_pauses_is_still_answered() -> None:
    waiting = at(*range(0, 100 * 100, 100))  # a message every 0.1 s, 100 of them
    turn = burst(waiting, WINDOW)
    assert ids(turn) == list(range(1, MAX_TURN_MESSAGES + 1))
    assert seconds_to_wait(turn, WINDOW, T0) == 0.0


def test_the_turns_text_is_its_texts_in_order_one_a_line() -> None:
    assert joined(["I want", "to book", "a table"]) == "I want\nto book\na table"
    assert joined(["look:", None, "", "this"]) == "look:\nthis"  # a picture without caption
