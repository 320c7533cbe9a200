"""A channel's agents: who answers its messages, tried in priority order (smallest first).

`http` (the Server's contract), `rule_based` (fixed replies to patterns) and `llm` (an
OpenAI-compatible chat-completions endpoint). The message path reads them through the per-process
`AgentDirectory`; `/api/v1/agents` writes them."""
