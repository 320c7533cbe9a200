"""Status webhooks: outbound messages move forwards with them, never back."""
