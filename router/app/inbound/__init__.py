"""1. In: where messages that come in belong (`ingest.py`), and the generic inbound of `api`
channels (`POST /webhooks/inbound`)."""
