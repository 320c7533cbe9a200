"""The `/process` contract, fixed by the assignment."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, StrictStr


def _unicode(text: str) -> str:
    """JSON may escape half of a surrogate pair alone (`"\\ud800"`); such a text is no Unicode,
    and the reply that echoes it could not be written."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode: it holds a lone surrogate") from None
    return text


class ProcessRequest(BaseModel):
    text: Annotated[StrictStr, AfterValidator(_unicode)]


class ProcessResponse(BaseModel):
    original: str
    reply: str
