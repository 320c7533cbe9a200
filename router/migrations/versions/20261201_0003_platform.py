"""The platform: tenants, members, API keys, channels, contacts, conversations; messages placed.

A database that already holds messages is upgraded in place: its messages land in the tenant
"default", with a channel per phone_number_id they were sent to (named after it, with no token
stored: the env's WHATSAPP_ACCESS_TOKEN sends for such a number, and start-up stores the env's
token on the env's own number), a contact per person (the wa_id and the business-scoped user id
seen together in one message are one person) and one open conversation, owned by the bot, per
channel and contact.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
MESSAGE_LINKS = [
    # column, referred table, foreign key, ON DELETE
    ("tenant_id", "tenants", "fk_messages_tenant", None),
    ("channel_id", "channels", "fk_messages_channel", None),
    ("conversation_id", "conversations", "fk_messages_conversation", None),
    ("contact_id", "contacts", "fk_messages_contact", None),
    ("author_member_id", "members", "fk_messages_author", "SET NULL"),
]


def _times() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _tenant(name: str) -> sa.Column[int]:
    return sa.Column(
        "tenant_id",
        sa.Integer(),
        sa.ForeignKey("tenants.id", name=f"fk_{name}_tenant", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_tenants_name"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("members"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("oidc_subject", sa.String(255), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        *_times(),
        sa.UniqueConstraint("tenant_id", "email", name="uq_members_tenant_email"),
        sa.UniqueConstraint("tenant_id", "oidc_subject", name="uq_members_tenant_subject"),
    )
    op.create_index("ix_members_oidc_subject", "members", ["oidc_subject"])
    op.create_index("ix_members_email", "members", ["email"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("api_keys"),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("members.id", name="fk_api_keys_member", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("public_id", name="uq_api_keys_public_id"),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("channels"),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone_number_id", sa.String(64), nullable=True),
        sa.Column("display_phone_number", sa.String(32), nullable=True),
        sa.Column("waba_id", sa.String(64), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        *_times(),
        sa.UniqueConstraint("phone_number_id", name="uq_channels_phone_number_id"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("contacts"),
        sa.Column("wa_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("name_edited", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_blocked", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_times(),
        sa.UniqueConstraint("tenant_id", "wa_id", name="uq_contacts_tenant_wa_id"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_contacts_tenant_user_id"),
        sa.CheckConstraint(
            "wa_id IS NOT NULL OR user_id IS NOT NULL", name="ck_contacts_identified"
        ),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant("conversations"),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", name="fk_conversations_channel"),
            nullable=False,
        ),
        sa.Column(
            "contact_id",
            sa.Integer(),
            sa.ForeignKey("contacts.id", name="fk_conversations_contact"),
            nullable=False,
        ),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column(
            "owner_member_id",
            sa.Integer(),
            sa.ForeignKey("members.id", name="fk_conversations_owner", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(), nullable=True),
        *_times(),
    )
    op.create_index(
        "uq_conversations_open",
        "conversations",
        ["channel_id", "contact_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index(
        "ix_conversations_activity", "conversations", ["tenant_id", "last_message_at", "id"]
    )
    op.create_index("ix_conversations_contact", "conversations", ["contact_id"])

    # SQLite cannot add a foreign key to a table: batch mode copies `messages` into a new one.
    with op.batch_alter_table("messages") as batch:
        for column, _, _, _ in MESSAGE_LINKS[:4]:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sender", sa.String(8), nullable=True))
        batch.add_column(sa.Column("author_member_id", sa.Integer(), nullable=True))
        for column, table, name, ondelete in MESSAGE_LINKS:
            batch.create_foreign_key(name, table, [column], ["id"], ondelete=ondelete)
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "id"])

    _place_existing_messages()


def downgrade() -> None:
    op.drop_index("ix_messages_conversation", "messages")
    with op.batch_alter_table("messages") as batch:
        for column, _, name, _ in MESSAGE_LINKS:
            batch.drop_constraint(name, type_="foreignkey")
            batch.drop_column(column)
        batch.drop_column("sender")
    for table in ("conversations", "contacts", "channels", "api_keys", "members", "tenants"):
        op.drop_table(table)


# --- existing messages -------------------------------------------------------------------------


def _table(name: str, *columns: str) -> sa.TableClause:
    # Times typed, so the driver gets what SQLAlchemy makes of a datetime (sqlite3's own adapter
    # is deprecated since Python 3.12).
    return sa.table(
        name, *(sa.column(c, sa.DateTime()) if c.endswith("_at") else sa.column(c) for c in columns)
    )


_messages = _table(
    "messages",
    "id",
    "direction",
    "phone_number_id",
    "contact",
    "wa_id",
    "user_id",
    "contact_name",
    "created_at",
    "tenant_id",
    "channel_id",
    "contact_id",
    "conversation_id",
    "sender",
)
_tenants = _table("tenants", "id", "name", "created_at")
_channels = _table(
    "channels", "id", "tenant_id", "type", "name", "phone_number_id", "created_at", "updated_at"
)
_contacts = _table(
    "contacts",
    "id",
    "tenant_id",
    "wa_id",
    "user_id",
    "name",
    "name_edited",
    "is_blocked",
    "created_at",
    "updated_at",
)
_conversations = _table(
    "conversations",
    "id",
    "tenant_id",
    "channel_id",
    "contact_id",
    "status",
    "last_message_at",
    "last_inbound_at",
    "created_at",
    "updated_at",
)
_contact_map = sa.table(
    "_contact_map",
    sa.column("contact", sa.String()),
    sa.column("contact_id", sa.Integer()),
)


def _place_existing_messages() -> None:
    bind = op.get_bind()
    m = _messages.c
    if bind.execute(sa.select(m.id).limit(1)).first() is None:
        return  # a new database: start-up seeds the default tenant and channel
    now = datetime.now(UTC).replace(tzinfo=None)
    # Typed literals: PostgreSQL must know the type of a value in a SELECT list.
    at = sa.literal(now, sa.DateTime())

    bind.execute(_tenants.insert().values(name="default", created_at=now))
    tenant_id = bind.execute(sa.select(_tenants.c.id).where(_tenants.c.name == "default")).scalar()
    tenant = sa.literal(tenant_id, sa.Integer())

    bind.execute(
        _channels.insert().from_select(
            ["tenant_id", "type", "name", "phone_number_id", "created_at", "updated_at"],
            sa.select(
                tenant,
                sa.literal("whatsapp", sa.String()),
                m.phone_number_id,
                m.phone_number_id,
                at,
                at,
            ).distinct(),
        )
    )

    op.create_table(
        "_contact_map",
        sa.Column("contact", sa.String(128), primary_key=True),
        sa.Column("contact_id", sa.Integer(), nullable=False),
    )
    contacts, links = _people(bind)
    if contacts:
        bind.execute(
            _contacts.insert(),
            [
                row
                | {
                    "tenant_id": tenant_id,
                    "name_edited": False,
                    "is_blocked": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in contacts
            ],
        )
        bind.execute(_contact_map.insert(), links)
    if bind.dialect.name == "postgresql":
        # The ids were given, not drawn: the sequence must start after them.
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('contacts', 'id'),"
                " (SELECT COALESCE(MAX(id), 0) + 1 FROM contacts), false)"
            )
        )

    channel = sa.select(_channels.c.id).where(_channels.c.phone_number_id == m.phone_number_id)
    person = sa.select(_contact_map.c.contact_id).where(_contact_map.c.contact == m.contact)
    bind.execute(
        _messages.update().values(
            tenant_id=tenant,
            channel_id=channel.scalar_subquery(),
            contact_id=person.scalar_subquery(),
            sender=sa.case((m.direction == "inbound", "contact"), else_="ai"),
        )
    )
    op.drop_table("_contact_map")

    inbound_at = sa.case((m.direction == "inbound", m.created_at))
    bind.execute(
        _conversations.insert().from_select(
            [
                "tenant_id",
                "channel_id",
                "contact_id",
                "status",
                "last_message_at",
                "last_inbound_at",
                "created_at",
                "updated_at",
            ],
            sa.select(
                tenant,
                m.channel_id,
                m.contact_id,
                sa.literal("open", sa.String()),
                sa.func.max(m.created_at),
                sa.func.max(inbound_at),
                sa.func.min(m.created_at),
                at,
            ).group_by(m.channel_id, m.contact_id),
        )
    )
    c = _conversations.c
    bind.execute(
        _messages.update().values(
            conversation_id=sa.select(c.id)
            .where(c.channel_id == m.channel_id, c.contact_id == m.contact_id, c.status == "open")
            .scalar_subquery()
        )
    )


@dataclass
class _Person:
    wa_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    named_by: int = 0  # the id of the message the name came from
    keys: set[str] = field(default_factory=set)  # its values of `messages.contact`


def _people(bind: sa.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The contacts the stored messages name, and which contact each `messages.contact` is.

    A message names its person by wa_id, by business-scoped user id, or both; the identifiers seen
    together in one message are one person, so they are joined (union-find) across all messages.
    A contact keeps the newest wa_id, user id and profile name seen.
    """
    m = _messages.c
    seen = bind.execute(
        sa.select(m.contact, m.wa_id, m.user_id, sa.func.max(m.id).label("last"))
        .group_by(m.contact, m.wa_id, m.user_id)
        .order_by(sa.text("last"))
    ).all()
    newest_name = sa.select(sa.func.max(m.id)).where(m.contact_name.is_not(None))
    named = bind.execute(
        sa.select(m.contact, m.contact_name, m.id).where(m.id.in_(newest_name.group_by(m.contact)))
    ).all()

    parent: dict[str, str] = {}

    def root(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for contact, wa_id, user_id, _ in seen:
        for other in (f"w:{wa_id}" if wa_id else None, f"u:{user_id}" if user_id else None):
            if other:
                parent[root(f"c:{contact}")] = root(other)

    people: dict[str, _Person] = {}
    for contact, wa_id, user_id, _ in seen:  # oldest first: the newest values win
        person = people.setdefault(root(f"c:{contact}"), _Person())
        person.wa_id = wa_id or person.wa_id
        person.user_id = user_id or person.user_id
        person.keys.add(contact)
    for contact, name, message_id in named:
        person = people[root(f"c:{contact}")]
        if message_id > person.named_by:
            person.name, person.named_by = name, message_id

    contacts, links = [], []
    for id_, person in enumerate(people.values(), start=1):
        if person.wa_id is None and person.user_id is None:  # a row the webhook never writes
            person.wa_id = min(person.keys)
        contacts.append(
            {"id": id_, "wa_id": person.wa_id, "user_id": person.user_id, "name": person.name}
        )
        links.extend({"contact": key, "contact_id": id_} for key in sorted(person.keys))
    return contacts, links
