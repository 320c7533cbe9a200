"""Tenants: the companies on the platform. Everything else belongs to exactly one."""
