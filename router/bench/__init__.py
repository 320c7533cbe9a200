"""Throughput and latency figures for the Router, with the three services as real processes.

`uv run --locked python -m bench` from `router/` (`make bench`); `--help` lists the options.
"""
