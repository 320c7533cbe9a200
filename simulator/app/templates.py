"""Message templates, as a WhatsApp Business Account holds them on Meta.

Every WABA the Simulator plays starts with the same few approved templates (`SEEDED`, Meta's
`hello_world` among them). `GET /{version}/{waba_id}/message_templates` lists them in the Graph
API's shape, and a template send is checked against them as Meta checks it:
- a name with no template in that language: 404, code 132001;
- a header or body given another number of parameters than its text has placeholders: 400, code
  132000.
A send that passes is rendered (its parameters put in) so that the chat page shows it as WhatsApp
does: header, body, footer and buttons.
"""

import re
from typing import Any

from pydantic import BaseModel, Field

from app.errors import GraphError, InvalidParameterError

# `{{1}}` (positional) or `{{first_name}}` (named).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
PAGE_SIZE = 25


class Template(BaseModel):
    """A template as Meta's `message_templates` edge lists it."""

    id: str
    name: str
    language: str
    status: str = "APPROVED"
    category: str
    parameter_format: str = "POSITIONAL"
    components: list[dict[str, Any]]


def _seeded() -> list[Template]:
    return [
        Template(
            id="1001",
            name="hello_world",
            language="en_US",
            category="UTILITY",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {
                    "type": "BODY",
                    "text": "Welcome! This message shows that your number can send WhatsApp "
                    "notifications through the Cloud API. Thanks for trying it.",
                },
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
            ],
        ),
        Template(
            id="1002",
            name="order_update",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Order {{1}}",
                    "example": {"header_text": ["#1042"]},
                },
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} has shipped and should arrive on {{3}}.",
                    "example": {"body_text": [["there", "#1042", "Friday"]]},
                },
                {"type": "FOOTER", "text": "Reply STOP to stop order updates"},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Track order",
                            "url": "https://shop.example/track/{{1}}",
                            "example": ["https://shop.example/track/1042"],
                        },
                        {"type": "QUICK_REPLY", "text": "Talk to us"},
                    ],
                },
            ],
        ),
        Template(
            id="1003",
            name="appointment_reminder",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "BODY",
                    "text": "Hello {{1}}, this is a reminder of your appointment on {{2}}.",
                    "example": {"body_text": [["Customer", "Monday at 10:00"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "QUICK_REPLY", "text": "Confirm"},
                        {"type": "QUICK_REPLY", "text": "Reschedule"},
                    ],
                },
            ],
        ),
        Template(
            id="1004",
            name="appointment_reminder",
            language="es",
            category="UTILITY",
            components=[
                {
                    "type": "BODY",
                    "text": "Hola {{1}}, te recordamos tu cita del {{2}}.",
                    "example": {"body_text": [["cliente", "lunes a las 10:00"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "QUICK_REPLY", "text": "Confirmar"},
                        {"type": "QUICK_REPLY", "text": "Cambiar"},
                    ],
                },
            ],
        ),
    ]


class Rendered(BaseModel):
    """A template send as the user's phone shows it."""

    name: str
    language: str
    header: str | None = None
    body: str = ""
    footer: str | None = None
    buttons: list[str] = Field(default_factory=list)


class TemplateNotFoundError(GraphError):
    status_code = 404
    code = 132001

    def __init__(self, name: str, language: str) -> None:
        super().__init__(
            "(#132001) Template name does not exist in the translation",
            f"template name ({name}) does not exist in {language}",
        )


class ParameterCountError(GraphError):
    code = 132000

    def __init__(self, component: str, given: int, expected: int) -> None:
        super().__init__(
            "(#132000) Number of parameters does not match the expected number of params",
            f"{component}: number of localizable_params ({given}) does not match the expected "
            f"number of params ({expected})",
        )


class Templates:
    """Each WABA's templates; a WABA seen for the first time gets the seeded ones."""

    def __init__(self) -> None:
        self._by_waba: dict[str, list[Template]] = {}

    def of(self, waba_id: str) -> list[Template]:
        templates = self._by_waba.get(waba_id)
        if templates is None:
            templates = self._by_waba[waba_id] = _seeded()
        return templates

    def page(self, waba_id: str, query: dict[str, str], base_url: str) -> dict[str, Any]:
        """The `message_templates` edge: `status`, `name`, `language` filters, `limit` and
        `after` paging, as Meta's cursors (an opaque string: here the offset)."""
        templates = [t for t in self.of(waba_id) if _matches(t, query)]
        try:
            limit = max(1, min(int(query.get("limit", PAGE_SIZE)), 1000))
            start = max(0, int(query.get("after", "0")))
        except ValueError:
            raise InvalidParameterError("Params limit and after must be integers.") from None
        chunk = templates[start : start + limit]
        paging: dict[str, Any] = {
            "cursors": {"before": str(start), "after": str(start + len(chunk))}
        }
        if start + limit < len(templates):
            paging["next"] = f"{base_url}?limit={limit}&after={start + limit}"
        return {
            "data": [t.model_dump() for t in chunk],
            "paging": paging,
        }

    def check(self, waba_id: str, content: dict[str, Any]) -> Rendered:
        """A template send's content checked as Meta checks it, and rendered; raises
        TemplateNotFoundError (132001) or ParameterCountError (132000)."""
        name = str(content.get("name"))
        language = str(content["language"]["code"])
        template = next(
            (
                t
                for t in self.of(waba_id)
                if t.name == name and t.language == language and t.status == "APPROVED"
            ),
            None,
        )
        if template is None:
            raise TemplateNotFoundError(name, language)
        sent = _parameters_by_component(content.get("components"))
        rendered = Rendered(name=name, language=language)
        for component in template.components:
            kind = str(component.get("type", "")).upper()
            if kind in ("HEADER", "BODY"):
                text = (
                    str(component.get("text", ""))
                    if component.get("format", "TEXT") == "TEXT"
                    else ""
                )
                expected = len(set(PLACEHOLDER.findall(text)))
                given = sent.get(kind.lower(), [])
                if len(given) != expected:
                    raise ParameterCountError(kind.lower(), len(given), expected)
                filled = _fill(text, given) if text else f"[{component.get('format', '').lower()}]"
                if kind == "HEADER":
                    rendered.header = filled
                else:
                    rendered.body = filled
            elif kind == "FOOTER":
                rendered.footer = str(component.get("text", ""))
            elif kind == "BUTTONS":
                rendered.buttons = [str(b.get("text", "")) for b in component.get("buttons", [])]
        return rendered


def _matches(template: Template, query: dict[str, str]) -> bool:
    status = query.get("status")
    if status and template.status not in status.upper().split(","):
        return False
    name = query.get("name")
    if name and name not in template.name:
        return False
    language = query.get("language")
    return not language or template.language in language.split(",")


def _parameters_by_component(components: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(components, list):
        return found
    for component in components:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        parameters = component.get("parameters")
        if kind in ("header", "body") and isinstance(parameters, list):
            found.setdefault(kind, []).extend(p for p in parameters if isinstance(p, dict))
    return found


def _fill(text: str, parameters: list[dict[str, Any]]) -> str:
    """Placeholders replaced by the parameters: positional by number, named by name."""
    named = {str(p.get("parameter_name")): p for p in parameters if p.get("parameter_name")}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        parameter = named.get(key)
        if parameter is None and key.isdigit() and 0 < int(key) <= len(parameters):
            parameter = parameters[int(key) - 1]
        return _shown(parameter) if parameter is not None else match.group(0)

    return PLACEHOLDER.sub(value, text)


def _shown(parameter: dict[str, Any]) -> str:
    kind = parameter.get("type")
    if kind == "text":
        return str(parameter.get("text", ""))
    if kind in ("currency", "date_time"):
        return str((parameter.get(kind) or {}).get("fallback_value", ""))
    return f"[{kind}]"
