"""No secret is stored in clear by mistake: every column, and every field of an agent's config,
named like a secret uses the encrypted types (app/secrets/columns.py), unless it is listed below
with the reason it holds no secret the router must read back."""

import re

from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text

from app.agents.models import Agent
from app.agents.schemas import CONFIGS
from app.models import Base
from app.secrets.columns import EncryptedJSON, EncryptedText
from app.secrets.stored import secret_columns

SECRET_NAME = re.compile(
    r"(^|_)(token|secret|password|passwd|api_?key|credentials?|private_?key)s?($|_)", re.I
)
# Named like a secret, holding none to read back, and why.
NOT_SECRETS = {
    ("api_keys", "secret_hash"): "a SHA-256 of an API key's secret: compared, never read back",
}
# JSON columns that hold no secret (a JSON column that may hold one is an EncryptedJSON).
PLAIN_JSON = {
    ("api_keys", "channel_ids"): "the channel ids a key sees",
    ("schedules", "recipients"): "contact ids",
    ("schedules", "template"): "a template's name, language and parameters",
    ("workers", "circuits"): "circuit breakers' states",
}


def unencrypted_secrets(metadata: MetaData) -> list[str]:
    """Columns named like a secret that are stored in clear."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if SECRET_NAME.search(column.name)
        and (table.name, column.name) not in NOT_SECRETS
        and not isinstance(column.type, EncryptedText | EncryptedJSON)
    ]


def test_every_column_named_like_a_secret_is_encrypted() -> None:
    assert unencrypted_secrets(Base.metadata) == []


def test_a_new_secret_column_in_clear_would_be_found() -> None:
    metadata = MetaData()
    Table(
        "webhooks",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("signing_secret", Text),
        Column("refresh_token", Text),
        Column("tokenizer", Text),  # not a secret's name
        Column("sealed_token", EncryptedText),
    )

    assert unencrypted_secrets(metadata) == ["webhooks.signing_secret", "webhooks.refresh_token"]
    assert [c.name for c in secret_columns(metadata)] == ["webhooks.sealed_token"]


def test_what_is_allowed_in_clear_is_there_and_in_clear() -> None:
    for table, column in [*NOT_SECRETS, *PLAIN_JSON]:
        found = Base.metadata.tables[table].columns[column]
        assert not isinstance(found.type, EncryptedText | EncryptedJSON), (table, column)


def test_every_json_column_is_encrypted_or_holds_no_secret() -> None:
    plain = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, JSON)
    }

    assert plain == set(PLAIN_JSON)


def test_every_secret_field_of_an_agents_config_is_encrypted() -> None:
    config = Agent.__table__.columns["config"].type
    assert isinstance(config, EncryptedJSON)

    for kind, schema in CONFIGS.items():
        for name, field in schema.model_fields.items():
            # A secret's name, or a field declared as pydantic's SecretStr.
            if SECRET_NAME.search(name) or "SecretStr" in repr(field.annotation):
                assert name in config.fields, f"{kind} config's {name}"


def test_the_rotation_and_the_start_up_check_cover_every_encrypted_column() -> None:
    assert [c.name for c in secret_columns(Base.metadata)] == [
        "agents.config.api_key",
        "channels.access_token",
    ]
