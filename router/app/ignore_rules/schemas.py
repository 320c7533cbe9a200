from typing import Annotated

from app.core.ids import IdField
from app.core.schemas import STRIPPED, Input, Output, UtcDateTime, not_blank
from app.ignore_rules.models import RuleType

Value = Annotated[str, not_blank(200), STRIPPED]


class IgnoreRuleIn(Input):
    rule_type: RuleType
    # contact: a contact id, a wa_id or a user id; keyword: a word (or words) matched whole, in
    # any case; message_type: Meta's type (image, audio, sticker, ...).
    value: Value
    channel_id: IdField | None = None  # null: every channel of the tenant


class IgnoreRuleOut(Output):
    id: int
    rule_type: RuleType
    value: str
    channel_id: int | None
    created_at: UtcDateTime
