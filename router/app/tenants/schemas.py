from app.core.schemas import Input, Name, Output, UtcDateTime


class TenantIn(Input):
    name: Name


class TenantOut(Output):
    id: int
    name: str
    created_at: UtcDateTime
