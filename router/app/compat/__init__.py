"""The source systems' own paths and names, mounted on this project's handlers.

The project was specified by five documents (the take-home assignment and its README, a
multi-tenant conversation backend, a hardened WhatsApp gateway, a multi-number management
platform); a new user comes with their examples in hand. What they name differently is accepted
here too: only mounts and aliases, the behaviour lives once in the domain packages.
docs/coming-from.md says, for each source, its names beside ours and what is deliberately different.
"""
