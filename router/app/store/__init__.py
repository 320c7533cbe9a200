"""The router's store: every message and status, in SQLite by default or PostgreSQL."""
