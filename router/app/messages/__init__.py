"""Messages: the `messages` table and its enums (models.py), the repositories of the message path
composed in store.py, the management API (management.py) and a conversation's messages
(endpoints.py, service.py, repository.py)."""
