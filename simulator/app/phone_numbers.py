"""The phone number node, `GET /{version}/{phone_number_id}`, as Meta answers it for a number.

Without `fields` Meta answers a default set; with it, the fields named, and `id`, which every node
read carries. A field the node has but the Simulator has no value for is left out, as Meta leaves
out fields that are not set; a field the node does not have is Meta's code 100.
"""

import re
from typing import Any

from app.businesses import Business
from app.errors import UnknownFieldError

NODE_TYPE = "WhatsAppBusinessPhoneNumber"
# What Meta answers a read without `fields`.
DEFAULT_FIELDS = (
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "id",
)
# Every field of the node, those PyWA's `get_business_phone_number` asks for among them.
FIELDS = frozenset(
    {
        *DEFAULT_FIELDS,
        "account_mode",
        "certificate",
        "conversational_automation",
        "country_code",
        "country_dial_code",
        "eligibility_for_api_business_global_search",
        "health_status",
        "is_official_business_account",
        "is_on_biz_app",
        "is_pin_enabled",
        "is_preverified_number",
        "last_onboarded_time",
        "messaging_limit_tier",
        "name_status",
        "new_certificate",
        "new_name_status",
        "quality_score",
        "search_visibility",
        "status",
        "webhook_configuration",
        "whatsapp_business_manager_messaging_limit",
    }
)
# `health_status.phone_number(...)`, `throughput{level}`: the field is the name before the modifier.
FIELD_NAME = re.compile(r"^\s*([a-z_]*)")


def node(business: Business, fields: str | None, webhook_url: str) -> dict[str, Any]:
    values = _values(business, webhook_url)
    if fields is None:
        names = list(DEFAULT_FIELDS)
    else:
        names = []
        for requested in fields.split(","):
            match = FIELD_NAME.match(requested)
            name = match.group(1) if match else ""
            if not name:
                continue
            if name not in FIELDS:
                raise UnknownFieldError(name, NODE_TYPE)
            names.append(name)
        if "id" not in names:
            names.append("id")
    return {name: values[name] for name in dict.fromkeys(names) if name in values}


def _values(business: Business, webhook_url: str) -> dict[str, Any]:
    available = {"can_send_message": "AVAILABLE"}
    return {
        "id": business.phone_number_id,
        # Meta writes it in international form here; webhooks' metadata carries the bare digits.
        "display_phone_number": "+" + business.display_phone_number,
        "verified_name": business.name,
        "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "status": "CONNECTED",
        "name_status": "APPROVED",
        "account_mode": "LIVE",
        "is_official_business_account": False,
        "is_on_biz_app": False,
        "is_pin_enabled": False,
        "is_preverified_number": False,
        "webhook_configuration": {"application": webhook_url},
        "health_status": {
            **available,
            "entities": [
                {"entity_type": "PHONE_NUMBER", "id": business.phone_number_id, **available},
                {"entity_type": "WABA", "id": business.waba_id, **available},
            ],
        },
    }
