"""The Server's benchmark: `python -m bench` from `server/`."""
