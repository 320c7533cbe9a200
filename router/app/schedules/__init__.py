"""Scheduled messages: a text (or a template) sent to one or more contacts at a set time or on a
cron schedule, each run's messages on the durable path of a message of its own."""
