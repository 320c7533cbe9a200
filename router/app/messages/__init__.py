"""Messages as a conversation shows them (the `messages` table is the message path's:
app/store/)."""
