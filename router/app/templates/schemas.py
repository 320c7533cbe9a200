from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator
from pywa.types.templates import TemplateLanguage

from app.core.schemas import Input, UtcDateTime
from app.inbound.payload import storable_text

# Meta's template names: lowercase letters, digits and underscores, at most 512 characters.
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
# WhatsApp's template languages, as PyWA knows them (en_US, es, pt_BR, ...).
LANGUAGES = sorted(
    language.value
    for language in TemplateLanguage
    if language.value not in ("UNKNOWN", "None") and language.value
)


class TemplateIn(Input):
    """A template to send: Meta's `template` object, the language as its code."""

    name: TemplateName
    language: str = Field(
        description="the template's language and locale code, as Meta lists it "
        "(`en_US`, `es`, `pt_BR`, ...)",
        json_schema_extra={"enum": LANGUAGES},
    )
    components: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=50,
        description="Meta's components with their parameters, passed on as they are: "
        '`[{"type": "body", "parameters": [{"type": "text", "text": "there"}]}]`',
    )

    @field_validator("language")
    @classmethod
    def _known(cls, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError("not one of WhatsApp's template languages")
        return language

    @field_validator("components")
    @classmethod
    def _storable(cls, components: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # What JSON can carry and the store cannot (a lone surrogate, NUL) becomes U+FFFD.
        cleaned: list[dict[str, Any]] = _cleaned(components)
        return cleaned


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): _cleaned(item) for key, item in value.items()}
    return value


class TemplateOut(BaseModel):
    """An approved template, as the Graph API lists it."""

    id: str | None = None
    name: str
    language: str
    status: str
    category: str | None = None
    parameter_format: str | None = None
    components: list[dict[str, Any]] = Field(default_factory=list)


class TemplateList(BaseModel):
    channel_id: int
    waba_id: str
    fetched_at: UtcDateTime = Field(description="when the Graph API was asked")
    cached: bool = Field(description="true: this process's copy, younger than the cache's time")
    items: list[TemplateOut]
