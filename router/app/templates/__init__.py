"""Message templates: a number's approved templates from the Graph API, and the `template` a
message is sent with."""
