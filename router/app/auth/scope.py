"""Who a request acts as (`Principal`) and in which tenant (`Scope`): plain values, read by the
services. `app/auth/principal.py` is the dependency that finds them for a request."""

from dataclasses import dataclass

from app.auth.roles import GRANTS, Permission, Role


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: (
        int | None
    )  # None: the operator, who names a tenant with X-Tenant-ID (or not: default)
    role: Role | None  # None: the operator
    member_id: int | None = None  # the member the caller acts as
    api_key_id: int | None = None
    # The numbers (channel ids) whose conversations, messages and events the caller sees; None:
    # every number. See `channels_seen`.
    channel_ids: frozenset[int] | None = None

    @property
    def is_operator(self) -> bool:
        return self.tenant_id is None

    def may(self, permission: Permission) -> bool:
        return self.role is None or permission in GRANTS[self.role]

    def sees(self, channel_id: int | None) -> bool:
        return self.channel_ids is None or channel_id in self.channel_ids


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenant a request acts in, and who acts."""

    tenant_id: int
    principal: Principal

    @property
    def channel_ids(self) -> frozenset[int] | None:
        """The numbers the caller sees in the tenant; None: all of them."""
        return self.principal.channel_ids
