"""2. Route: what happens to an inbound message once its job takes it (`decide.py`)."""
