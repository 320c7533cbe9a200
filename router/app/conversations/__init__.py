"""Conversations: one channel and one contact, open or closed, owned by the bot or a member."""
