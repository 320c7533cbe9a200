"""The `/process` contract, fixed by the assignment."""

from pydantic import BaseModel, StrictStr


class ProcessRequest(BaseModel):
    text: StrictStr


class ProcessResponse(BaseModel):
    original: str
    reply: str
