"""Who is calling: API keys (hashed, prefixed), JWTs (JWKS), roles, the Principal dependency."""
