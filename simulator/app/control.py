"""The control API: business numbers, simulated users, what they send, the verification
handshake, faults.

Tests and the chat page drive the Simulator through these; nothing here exists on Meta's side.
"""

import json
import secrets

from fastapi import APIRouter, HTTPException, status

from app.businesses import Business, BusinessIn, BusinessOut, BusinessTaken
from app.delivery import TRANSPORT_ERRORS
from app.deps import SimulatorDep
from app.faults import Behaviour, ForcedFailure
from app.payloads import dumps
from app.schemas import (
    BatchIn,
    ConfigPatch,
    FailNextIn,
    InboundIn,
    InboundOut,
    RawIn,
    UserIn,
    UserPatch,
    VerifyIn,
    VerifyOut,
)
from app.simulator import Simulator
from app.store import Chat, Delivery, User

router = APIRouter(prefix="/sim", tags=["control"])


def _user(simulator: Simulator, wa_id: str) -> User:
    user = simulator.store.users.get(wa_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no simulated user {wa_id}")
    return user


def _business(simulator: Simulator, phone_number_id: str | None) -> Business:
    if phone_number_id is None:
        return simulator.businesses.default
    business = simulator.businesses.get(phone_number_id)
    if business is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no business number {phone_number_id}")
    return business


@router.post("/businesses", status_code=status.HTTP_201_CREATED)
async def add_business(body: BusinessIn, simulator: SimulatorDep) -> BusinessOut:
    """Play one more business number, with its own access token; 409 if its id is taken."""
    try:
        return simulator.add_business(body).public()
    except BusinessTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"phone_number_id {body.phone_number_id} is already played"
        ) from None


@router.get("/businesses")
async def list_businesses(simulator: SimulatorDep) -> list[BusinessOut]:
    """Every business number played, the default one first (tokens are never shown)."""
    return [business.public() for business in simulator.businesses]


@router.get("/businesses/{phone_number_id}")
async def get_business(phone_number_id: str, simulator: SimulatorDep) -> BusinessOut:
    """One business number."""
    return _business(simulator, phone_number_id).public()


@router.get("/chats")
async def list_chats(
    simulator: SimulatorDep, wa_id: str | None = None, phone_number_id: str | None = None
) -> list[Chat]:
    """Each user's chat with each business number: its window and typing indicator."""
    return [
        chat
        for chat in simulator.store.chats.values()
        if (wa_id is None or chat.wa_id == wa_id)
        and (phone_number_id is None or chat.phone_number_id == phone_number_id)
    ]


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserIn, simulator: SimulatorDep) -> User:
    """Create a simulated user (or replace the one with that number, keeping its BSUID)."""
    return simulator.create_user(body)


@router.get("/users")
async def list_users(simulator: SimulatorDep) -> list[User]:
    """Every simulated user, oldest first."""
    return list(simulator.store.users.values())


@router.get("/users/{wa_id}")
async def get_user(wa_id: str, simulator: SimulatorDep) -> User:
    """One simulated user."""
    return _user(simulator, wa_id)


@router.patch("/users/{wa_id}")
async def update_user(wa_id: str, body: UserPatch, simulator: SimulatorDep) -> User:
    """Change a user's name, contact shape, whether they read, or force the 24 h window shut."""
    user = _user(simulator, wa_id)
    updated = user.model_copy(update=body.model_dump(exclude_none=True))
    simulator.store.put_user(updated)
    return updated


@router.post("/users/{wa_id}/messages")
async def user_sends(wa_id: str, body: InboundIn, simulator: SimulatorDep) -> InboundOut:
    """The user writes to a business number: a signed webhook is POSTed to the Router (retried)."""
    user = _user(simulator, wa_id)
    business = _business(simulator, body.phone_number_id)
    return await simulator.send_inbound(business, [(user, body)], duplicate=body.duplicate)


@router.post("/webhooks/batch")
async def batch(body: BatchIn, simulator: SimulatorDep) -> InboundOut:
    """Several messages, possibly from several users, to one business number in one body."""
    business = _business(simulator, body.phone_number_id)
    items = [(_user(simulator, item.wa_id), item) for item in body.messages]
    return await simulator.send_inbound(
        business, items, layout=body.layout, duplicate=body.duplicate
    )


@router.post("/webhooks/raw")
async def raw(body: RawIn, simulator: SimulatorDep) -> Delivery:
    """POST any body to the Router, signed correctly unless a signature is given."""
    content = body.body.encode() if isinstance(body.body, str) else dumps(body.body)
    deliveries = await simulator.sender.deliver("raw", content, [], signature=body.signature)
    return deliveries[0]


@router.post("/webhooks/verify")
async def verify(body: VerifyIn, simulator: SimulatorDep) -> VerifyOut:
    """Run Meta's subscription handshake against the Router's webhook URL."""
    url = simulator.faults.behaviour.webhook_url
    token = body.verify_token
    if token is None:
        token = simulator.settings.whatsapp_webhook_verify_token.get_secret_value()
    challenge = body.challenge or str(secrets.randbelow(10**9))
    params = {"hub.mode": body.mode, "hub.verify_token": token, "hub.challenge": challenge}
    try:
        async with simulator.sender.client.get(url, params=params) as response:
            text = await response.text(errors="replace")
    except TRANSPORT_ERRORS as exc:
        return VerifyOut(
            url=url, status_code=None, body="", challenge=challenge, echoed=False, error=str(exc)
        )
    echoed = response.status == 200 and text == challenge
    return VerifyOut(
        url=url, status_code=response.status, body=text, challenge=challenge, echoed=echoed
    )


@router.get("/config")
async def get_config(simulator: SimulatorDep) -> Behaviour:
    """Status delays, the webhook URL and the faults in force."""
    return simulator.faults.behaviour


@router.patch("/config")
async def update_config(body: ConfigPatch, simulator: SimulatorDep) -> Behaviour:
    """Change some of them; `/sim/reset` restores the settings' values."""
    merged = simulator.faults.behaviour.model_dump() | body.model_dump(exclude_none=True)
    simulator.faults.behaviour = Behaviour.model_validate(json.loads(json.dumps(merged)))
    return simulator.faults.behaviour


@router.post("/faults/fail-next")
async def fail_next(body: FailNextIn, simulator: SimulatorDep) -> dict[str, int]:
    """The next `count` Graph API requests of that kind fail with this status and Meta code."""
    failure = ForcedFailure(status=body.status, code=body.code, applies_to=body.applies_to)
    simulator.faults.forced.extend(failure.model_copy() for _ in range(body.count))
    return {"queued": len(simulator.faults.forced)}


@router.get("/info")
async def info(simulator: SimulatorDep) -> dict[str, str]:
    """The default business number, and where webhooks go (`/sim/businesses` lists them all)."""
    default = simulator.businesses.default
    return {
        "phone_number_id": default.phone_number_id,
        "display_phone_number": default.display_phone_number,
        "waba_id": default.waba_id,
        "name": default.name,
        "webhook_url": simulator.faults.behaviour.webhook_url,
    }
