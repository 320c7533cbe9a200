"""The business numbers the Simulator plays, each with its own access token, as on Meta.

The number in `WHATSAPP_PHONE_NUMBER_ID` is the default one (what `make demo` and the tests use);
`SIMULATOR_BUSINESSES` adds more at start, `POST /sim/businesses` while running. A Graph API call on
`/{phone_number_id}` is accepted only with a token that has that number, as Meta answers:

- no token, or one no business has: 401, code 190 (OAuthException);
- a token of another number, or a number nobody has: 400, code 100 subcode 33 ("does not exist,
  cannot be loaded due to missing permissions"), the same answer for both, so that a token cannot
  probe for numbers it may not see.

A token given to two businesses works for both, as a system user's token assigned to both numbers
does on Meta.
"""

import hmac
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, SecretStr

from app.errors import AuthError, UnknownObjectError

if TYPE_CHECKING:
    from app.settings import Settings

# Meta's ids are digits; they also go into URL paths, so nothing else is let in.
PHONE_NUMBER_ID = r"^\d{1,30}$"


class BusinessIn(BaseModel):
    """A business number: an item of `SIMULATOR_BUSINESSES`, the body of `POST /sim/businesses`."""

    phone_number_id: str = Field(pattern=PHONE_NUMBER_ID, description="The Graph API's id for it")
    display_phone_number: str = Field(
        pattern=r"^\d{6,15}$", description="Digits, as webhooks' metadata carries it"
    )
    access_token: SecretStr = Field(min_length=1, description="Accepted for this number only")
    waba_id: str = Field(
        default_factory=lambda: str(secrets.randbelow(9 * 10**18) + 10**18),
        pattern=PHONE_NUMBER_ID,
        description="The WhatsApp Business Account: webhooks' entry[].id; generated if absent",
    )
    name: str = Field(min_length=1, max_length=100, description="Its verified name")


class Business(BusinessIn):
    is_default: bool = False

    def public(self) -> "BusinessOut":
        return BusinessOut.model_validate(self.model_dump(exclude={"access_token"}))


class BusinessOut(BaseModel):
    """A business as the control API shows it: never with its token."""

    phone_number_id: str
    display_phone_number: str
    waba_id: str
    name: str
    is_default: bool


class BusinessTaken(Exception):
    pass


def configured(settings: "Settings") -> list[Business]:
    """The default business from the `WHATSAPP_*` settings, then `SIMULATOR_BUSINESSES`."""
    default = Business(
        phone_number_id=settings.whatsapp_phone_number_id,
        display_phone_number=settings.simulator_display_phone_number,
        access_token=settings.whatsapp_access_token,
        waba_id=settings.simulator_waba_id,
        name=settings.simulator_business_name,
        is_default=True,
    )
    return [default, *(Business(**extra.model_dump()) for extra in settings.simulator_businesses)]


class Businesses:
    def __init__(self, businesses: list[Business]) -> None:
        self._by_id: dict[str, Business] = {}
        for business in businesses:
            self.add(business)
        self.default = businesses[0]

    def __iter__(self) -> Iterator[Business]:
        return iter(self._by_id.values())

    def __getitem__(self, phone_number_id: str) -> Business:
        return self._by_id[phone_number_id]

    def get(self, phone_number_id: str) -> Business | None:
        return self._by_id.get(phone_number_id)

    def add(self, business: Business) -> None:
        if business.phone_number_id in self._by_id:
            raise BusinessTaken(business.phone_number_id)
        self._by_id[business.phone_number_id] = business

    def authorize(
        self, phone_number_id: str, header: str, method: Literal["get", "post"]
    ) -> Business:
        """The business with this number when the bearer token may use it, else Meta's error."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("An active access token must be used to query information.")
        business = self._by_id.get(phone_number_id)
        if business is not None and _same(token, business.access_token):
            return business
        if any(_same(token, other.access_token) for other in self._by_id.values()):
            raise UnknownObjectError(phone_number_id, method)
        raise AuthError("Invalid OAuth access token - Cannot parse access token")

    def authorize_waba(self, waba_id: str, header: str) -> list[Business]:
        """The numbers of this WABA when the bearer token has one of them, else Meta's error."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("An active access token must be used to query information.")
        mine = [b for b in self._by_id.values() if _same(token, b.access_token)]
        if not mine:
            raise AuthError("Invalid OAuth access token - Cannot parse access token")
        if not any(b.waba_id == waba_id for b in mine):
            raise UnknownObjectError(waba_id, "get")
        return [b for b in self._by_id.values() if b.waba_id == waba_id]


def _same(token: str, expected: SecretStr) -> bool:
    return hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
