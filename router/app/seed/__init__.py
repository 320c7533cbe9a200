"""The demo company: a tenant with two numbers, people, contacts and conversation history.

`python -m app.seed` (`make seed`, and `make demo` before it starts the services) writes it into
the router's database once; running it again adds only what is missing.
"""
