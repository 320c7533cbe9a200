"""`/api/v1/agents` bodies. An agent's `config` is its type's: a body says exactly what is
accepted, so a pattern RE2 cannot compile is refused here, naming its rule."""

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    MISSING,
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    SecretStr,
    StrictBool,
    StringConstraints,
)

from app.agents.models import CREATED_PRIORITY, AgentType
from app.compat.agents import LangGraph, our_agent_type
from app.core.ids import IdField
from app.core.schemas import (
    NO_NUL,
    STRIPPED,
    Input,
    Name,
    Output,
    UtcDateTime,
    json_integer,
    not_blank,
)

if TYPE_CHECKING:
    import re2

MAX_RULES = 200
MAX_PRIORITY = 1_000_000


def _json_number(value: Any) -> Any:
    # JSON Schema's number: never "1.5" or true, which lax parsing would take.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number is expected")
    return value


Priority = Annotated[int, Field(ge=0, le=MAX_PRIORITY), json_integer("a priority")]
ChannelIds = Annotated[list[IdField], Field(max_length=100)]
ContactIds = Annotated[list[IdField], Field(max_length=1000)]
Reply = Annotated[str, not_blank(4096)]
# RE2's syntax, not JSON Schema's `regex` format (ECMA 262): each is checked when saved (a 422
# naming the rule), which no schema can say.
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


def _re2() -> Any:
    # RE2's module holds about 1.5 MB: loaded by the first rule-based agent, not by every router.
    import re2

    return re2


def pattern_options() -> "re2.Options":
    options = _re2().Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is the client's 422, not the router's log
    return options


def compile_pattern(pattern: str) -> Any:
    """The pattern in RE2: matching takes time linear in the text, whatever the pattern, so no
    pattern can stall the router (no backtracking)."""
    return _re2().compile(pattern, pattern_options())


class Rule(Input):
    pattern: Pattern  # searched in the text, in any case
    response: Reply


def _compilable(rules: list[Rule]) -> list[Rule]:
    for index, rule in enumerate(rules):
        try:
            compile_pattern(rule.pattern)
        except _re2().error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ValueError(f"rules[{index}].pattern is not a valid pattern: {reason}") from None
    return rules


Keyword = Annotated[str, not_blank(200), STRIPPED]


class Audience(Input):
    """What every agent type takes, meaning the same on each (app/agents/audience.py): the
    texts and contacts it answers; any other it passes to the next agent."""

    # Empty: every text; else only texts holding one (a whole word, any case).
    trigger_keywords: Annotated[list[Keyword], Field(max_length=100)] = Field(default_factory=list)
    allowed_contacts: ContactIds = Field(default_factory=list)  # empty: every contact
    # False: http and llm agents answered every message before they took it (rule_based: True).
    ignore_groups: StrictBool = False


class HttpConfig(Audience):
    # The Server's contract at this URL; left out: the Server at SERVER_BASE_URL (`/process`).
    url: HttpUrl | None = None


class RuleBasedConfig(Audience):
    rules: Annotated[
        list[Rule], Field(min_length=1, max_length=MAX_RULES), AfterValidator(_compilable)
    ]
    ignore_groups: StrictBool = True


class LlmConfig(Audience):
    # The API's root: `{base_url}/chat/completions` is asked. Left out: OPENAI_BASE_URL (else
    # OpenAI's), with OPENAI_API_KEY when the config has no api_key of its own.
    base_url: HttpUrl | None = None
    model: Annotated[str, not_blank(200), STRIPPED]
    # Write-only: kept, never in an answer or a log line. Left out of a PATCH: the one stored.
    api_key: Annotated[SecretStr, Field(min_length=1, max_length=4096)] | MISSING | None = MISSING
    system_prompt: Annotated[str, StringConstraints(max_length=20_000, pattern=NO_NUL)] | None = (
        None
    )
    temperature: Annotated[float, Field(ge=0, le=2), BeforeValidator(_json_number)] | None = None
    history_messages: Annotated[int, Field(ge=0, le=100), json_integer("a number of messages")] = 10


class _AgentIn(Input):
    name: Name
    # Left out or null: every channel of the tenant, those added later too.
    channel_ids: ChannelIds | None = None
    # Left out: before the Server's agent (100), which answers every text.
    priority: Priority = CREATED_PRIORITY


class HttpAgentIn(_AgentIn):
    agent_type: Literal["http"]
    config: HttpConfig = HttpConfig()


class RuleBasedAgentIn(_AgentIn):
    agent_type: Literal["rule_based"]
    config: RuleBasedConfig


class LlmAgentIn(_AgentIn):
    # `langgraph`: the multi-number platform's name for it (app/compat/agents.py), made `llm`.
    agent_type: Annotated[Literal["llm"] | LangGraph, AfterValidator(our_agent_type)]
    config: LlmConfig


AgentIn = Annotated[HttpAgentIn | RuleBasedAgentIn | LlmAgentIn, Field(discriminator="agent_type")]
AnyConfig = HttpConfig | RuleBasedConfig | LlmConfig
CONFIGS: dict[AgentType, type[AnyConfig]] = {
    AgentType.HTTP: HttpConfig,
    AgentType.RULE_BASED: RuleBasedConfig,
    AgentType.LLM: LlmConfig,
}


class AgentPatch(Input):
    name: Name | MISSING = MISSING
    # The whole config of the agent's type (an llm's api_key left out: the one stored); a config
    # of another type is a 409.
    config: AnyConfig | MISSING = MISSING
    # null: every channel of the tenant, those added later too.
    channel_ids: ChannelIds | MISSING | None = MISSING
    priority: Priority | MISSING = MISSING


class AgentOut(Output):
    """An agent; an llm's api_key is write-only (`api_key_set` says whether it has one)."""

    id: int
    name: str
    agent_type: AgentType
    config: dict[str, Any]
    channel_ids: list[int]  # those it serves now
    all_channels: bool  # made without channel_ids: every channel of the tenant, later ones too
    priority: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
