import pytest

from app.outbound.sender import MAX_TEXT_LENGTH, split_text


def test_a_short_text_is_one_part() -> None:
    assert split_text("hello") == ["hello"]
    assert split_text("") == [""]
    assert split_text("x" * MAX_TEXT_LENGTH) == ["x" * MAX_TEXT_LENGTH]


def test_a_long_text_without_breaks_is_cut_hard_and_kept_whole() -> None:
    text = "x" * (MAX_TEXT_LENGTH * 2 + 5)

    parts = split_text(text)

    assert [len(p) for p in parts] == [MAX_TEXT_LENGTH, MAX_TEXT_LENGTH, 5]
    assert "".join(parts) == text


def test_parts_break_at_the_last_space_or_newline() -> None:
    assert split_text("aaa bbb ccc", limit=8) == ["aaa bbb", "ccc"]
    assert split_text("aaa\nbbb ccc", limit=5) == ["aaa", "bbb", "ccc"]


@pytest.mark.parametrize("limit", [1, 7, 10, 100])
def test_no_part_exceeds_the_limit_and_words_survive(limit: int) -> None:
    text = " ".join(f"w{i}" for i in range(200)) + " 👋 שלום"

    parts = split_text(text, limit=limit)

    assert all(len(p) <= limit for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_text("x", limit=0)
