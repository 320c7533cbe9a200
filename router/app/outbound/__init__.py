"""3. Sending: the Graph API clients per number, on one connection pool."""
