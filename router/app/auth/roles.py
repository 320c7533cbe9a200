"""Roles and what each may do. The operator (`ROUTER_ADMIN_API_KEY`) may do everything."""

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # everything in the tenant, keys and members included
    ADMIN = "admin"  # channels, contacts, settings, conversations
    AGENT = "agent"  # reads contacts and conversations, writes in conversations, transfers
    VIEWER = "viewer"  # reads


class Permission(StrEnum):
    READ = "read"
    MANAGE_TENANTS = "manage_tenants"  # the operator only
    MANAGE_ACCESS = "manage_access"  # API keys and members
    MANAGE_CHANNELS = "manage_channels"
    MANAGE_CONTACTS = "manage_contacts"
    CONVERSE = "converse"  # write in conversations, transfer, close, reopen
    MANAGE_SCHEDULES = "manage_schedules"  # scheduled messages: they write to many contacts


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission) - {Permission.MANAGE_TENANTS},
    Role.ADMIN: frozenset(
        {
            Permission.READ,
            Permission.MANAGE_CHANNELS,
            Permission.MANAGE_CONTACTS,
            Permission.CONVERSE,
            Permission.MANAGE_SCHEDULES,
        }
    ),
    Role.AGENT: frozenset({Permission.READ, Permission.CONVERSE}),
    Role.VIEWER: frozenset({Permission.READ}),
}

_RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


def lesser(a: Role, b: Role) -> Role:
    """The role with fewer rights: a member's key never exceeds the member."""
    return a if _RANK[a] <= _RANK[b] else b


def can_own_conversations(role: Role) -> bool:
    return Permission.CONVERSE in GRANTS[role]


# The roles that numbers limit: an agent or viewer on some numbers sees only those; owners and
# admins see every number, whatever numbers they are on.
LIMITED_BY_NUMBERS = frozenset({Role.AGENT, Role.VIEWER})
