"""Channels: a tenant's WhatsApp numbers (and `api` channels for other sources)."""
