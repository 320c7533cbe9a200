"""A body's integers are JSON Schema's: `true`, `1.5` and `"2"` are refused, and the 422 says
what the field is (a priority's error does not talk of ids)."""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from app.agents.schemas import AgentPatch, LlmConfig
from app.channels.schemas import ChannelPatch

LLM = {"base_url": "http://llm.test/v1", "model": "small"}

FIELDS = [
    pytest.param(AgentPatch, {}, "priority", "a priority is an integer", id="priority"),
    pytest.param(AgentPatch, {}, "channel_ids", "an id is an integer", id="id"),
    pytest.param(LlmConfig, LLM, "history_messages", "a number of messages", id="history"),
    pytest.param(ChannelPatch, {}, "debounce_ms", "a debounce in milliseconds", id="debounce"),
]


def _value(field: str, value: Any) -> Any:
    return [value] if field == "channel_ids" else value


@pytest.mark.parametrize(("model", "body", "field", "meaning"), FIELDS)
@pytest.mark.parametrize("sent", [True, "2"])
def test_a_value_lax_parsing_would_take_is_refused_naming_what_is_meant(
    model: type[BaseModel], body: dict[str, Any], field: str, meaning: str, sent: Any
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body | {field: _value(field, sent)})

    [error] = refused.value.errors()
    assert error["loc"][0] == field
    assert meaning in error["msg"]
    if field != "channel_ids":
        assert "id" not in error["msg"].split()


@pytest.mark.parametrize(("model", "body", "field", "meaning"), FIELDS)
def test_a_fraction_is_refused_and_a_whole_float_taken(
    model: type[BaseModel], body: dict[str, Any], field: str, meaning: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body | {field: _value(field, 1.5)})
    taken = model.model_validate(body | {field: _value(field, 2.0)})

    assert refused.value.errors()[0]["type"] == "int_from_float"
    assert getattr(taken, field) == _value(field, 2)
