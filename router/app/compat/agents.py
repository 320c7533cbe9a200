"""The multi-number platform's agents, as its examples write them.

Its `langgraph` agent is our `llm`: a model behind an OpenAI-compatible chat-completions API,
asked with the system prompt and the conversation's history. Accepted under its name, stored and
answered as `llm` (what it is here): no LangGraph graph runs, it is one chat-completions call. The
rest of its examples (`trigger_keywords`, `allowed_contacts`, `ignore_groups` on any agent, no
`channel_ids`, no `priority`, no `base_url` or `api_key`) are this project's own fields and
defaults (app/agents/schemas.py).
"""

from typing import Literal

from app.agents.models import AgentType

LangGraph = Literal["langgraph"]
AGENT_TYPES: dict[str, AgentType] = {"langgraph": AgentType.LLM}


def our_agent_type(name: str) -> str:
    """Our name for an agent type the platform names otherwise; ours as they are."""
    return AGENT_TYPES[name].value if name in AGENT_TYPES else name
