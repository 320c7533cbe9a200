"""The Simulator's own benchmark: `uv run python -m bench` (see run.py)."""
