"""Contacts: a tenant's customers, known by wa_id (phone) and/or business-scoped user id."""
