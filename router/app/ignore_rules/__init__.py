"""Ignore rules: inbound messages kept (`ignored`, with the rule's id) and answered by no agent.

By contact, by keyword (a whole word, any case) or by message type; for one channel or all of the
tenant's. The message path reads them through the per-process `IgnoreRuleDirectory`."""
