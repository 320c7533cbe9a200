"""Members: the people of a tenant, each with a role; a human agent is a member."""
