"""The Simulator's state and its two flows towards the Router.

- inbound: a simulated user writes to one of the business numbers -> a signed webhook body carrying
  that number's metadata -> the Router;
- statuses: a message the Router sent -> sent, delivered, read webhooks after configured delays
  (app/statuses.py, which `/sim/flush` waits for and shutdown cancels).
"""

import secrets
from collections.abc import Sequence
from typing import Any

import structlog

from app.businesses import Business, Businesses, BusinessIn, configured
from app.delivery import WebhookSender
from app.faults import Faults
from app.media import SAMPLE_FILES, Media, MediaStore, kind_of_customer_file
from app.metrics import SimulatorMetrics
from app.payloads import (
    default_content,
    dumps,
    envelope,
    inbound_message,
    messages_value,
    new_bsuid,
    new_parent_bsuid,
)
from app.schemas import BatchLayout, Duplicate, InboundOut, InboundSpec, UserIn
from app.settings import Settings
from app.statuses import StatusScheduler
from app.store import Chat, ContactShape, Message, MessageStatus, Store, User, now
from app.templates import Templates

log = structlog.get_logger()


class Simulator:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        faults: Faults,
        sender: WebhookSender,
        metrics: SimulatorMetrics,
    ):
        self.settings = settings
        self.store = store
        self.faults = faults
        self.sender = sender
        self.metrics = metrics
        self.businesses = Businesses(configured(settings))
        self.templates = Templates()
        self.statuses = StatusScheduler(self.businesses, store, faults, sender)
        self.media = MediaStore(settings.simulator_media_url_seconds, store.hub)

    # -- background work ---------------------------------------------------------------------

    async def flush(self, seconds: float) -> int:
        """Wait until every scheduled status is out (or `seconds` pass); return how many are not."""
        return await self.statuses.flush(seconds)

    async def cancel_all(self) -> None:
        await self.statuses.cancel_all()

    async def reset(self) -> None:
        # Businesses stay: they are the numbers the Router has channels for.
        await self.cancel_all()
        self.store.clear()
        self.media.clear()
        self.faults.reset()

    # -- businesses --------------------------------------------------------------------------

    def add_business(self, spec: BusinessIn) -> Business:
        """Raises BusinessTaken when the phone number id is already played."""
        business = Business.model_validate(spec.model_dump())
        self.businesses.add(business)
        self.store.hub.publish("business", business.public().model_dump(mode="json"))
        log.info("business.added", phone_number_id=business.phone_number_id)
        return business

    # -- users -------------------------------------------------------------------------------

    def create_user(self, spec: UserIn) -> User:
        wa_id = spec.wa_id or "1555" + str(secrets.randbelow(10**7)).zfill(7)
        existing = self.store.users.get(wa_id)
        user = User(
            wa_id=wa_id,
            name=spec.name,
            user_id=spec.user_id or (existing.user_id if existing else new_bsuid()),
            parent_user_id=existing.parent_user_id if existing else new_parent_bsuid(),
            contact_shape=spec.contact_shape,
            reads=spec.reads,
            outside_window=spec.outside_window,
        )
        self.store.put_user(user)
        return user

    def user_for_number(self, wa_id: str) -> User:
        """A send to a number nobody simulated yet creates that user (who never wrote)."""
        user = self.store.users.get(wa_id)
        if user is None:
            user = self.create_user(UserIn(name=f"+{wa_id}", wa_id=wa_id))
        return user

    def in_window(self, user: User, chat: Chat) -> bool:
        """Whether the business may send free-form: the user wrote to that number lately."""
        if user.outside_window:
            return False
        if not self.settings.simulator_enforce_window:
            return True  # benchmarks post webhooks straight to the router, not through here
        if chat.last_inbound_at is None:
            return False
        return now() - chat.last_inbound_at < self.settings.simulator_window_hours * 3600

    # -- inbound: users write to the business --------------------------------------------------

    async def send_inbound(
        self,
        business: Business,
        items: Sequence[tuple[User, InboundSpec]],
        layout: BatchLayout = "one_change",
        duplicate: Duplicate = "none",
    ) -> InboundOut:
        timestamp = int(now())
        built: list[tuple[User, ContactShape, dict[str, Any]]] = []
        for user, spec in items:
            shape = spec.contact_shape or user.contact_shape
            built.append((user, shape, self._build_message(business, user, spec, timestamp)))

        if layout == "one_change":
            senders = [(user, shape) for user, shape, _ in built]
            values = [[messages_value(business, senders, [m for _, _, m in built])]]
        else:
            single = [messages_value(business, [(u, s)], [m]) for u, s, m in built]
            values = [single] if layout == "changes" else [[value] for value in single]
        body = envelope(business, values)

        records: list[Message] = []
        for user, _, message in built:
            record = Message(
                wamid=message["id"],
                direction="inbound",
                wa_id=user.wa_id,
                phone_number_id=business.phone_number_id,
                type=message["type"],
                payload=message,
                context_id=message.get("context", {}).get("id"),
                timestamp=timestamp,
                status="pending",
            )
            chat = self.store.chat(user.wa_id, business.phone_number_id)
            chat.last_inbound_at = now()
            chat.typing_until = None
            self.store.add_message(record)
            records.append(record)

        wamids = [r.wamid for r in records]
        deliveries = await self.sender.deliver("message", dumps(body), wamids, duplicate=duplicate)
        outcome: MessageStatus = "delivered" if deliveries[0].state == "delivered" else "failed"
        if deliveries[0].state == "dropped":
            outcome = "dropped"
        for record in records:
            # The Router may already have marked it read while answering the webhook.
            if record.status != "read":
                self.store.set_status(record, outcome)
        log.info("inbound.delivered", wamids=wamids, state=deliveries[0].state)
        return InboundOut(messages=records, deliveries=deliveries, body=body)

    def _build_message(
        self, business: Business, user: User, spec: InboundSpec, timestamp: int
    ) -> dict[str, Any]:
        content = default_content(spec.type, spec.text)
        given = isinstance(spec.content, dict) and "id" in spec.content
        if spec.type in SAMPLE_FILES and not given:
            # A media type without the caller's own id: a real sample, which the Router can fetch.
            sample = self.media.add_sample(business.phone_number_id, spec.type)
            content |= media_fields(sample)
            if spec.type == "document":
                content["filename"] = sample.filename
        if spec.content is not None and (
            not isinstance(spec.content, dict)
            or not isinstance(content, dict)
            or spec.content.get("type", content.get("type")) != content.get("type")
        ):
            # A list, or an object of another subtype (a list_reply, not a button_reply).
            content = spec.content
        elif spec.content:
            content = content | spec.content
        last_outbound = self._last_outbound(user.wa_id, business.phone_number_id)
        if spec.type == "reaction" and isinstance(content, dict) and not content["message_id"]:
            content["message_id"] = last_outbound or ""
        context_id = spec.context_id
        if context_id is None and spec.type in ("interactive", "button"):
            # Button and list replies always quote the message that carried the buttons.
            context_id = last_outbound
        context = None
        if context_id:
            context = {"from": business.display_phone_number, "id": context_id}
        return inbound_message(user, spec.type, content, timestamp, context)

    async def send_file(
        self,
        business: Business,
        user: User,
        file: tuple[bytes, str, str | None],
        caption: str | None = None,
        context_id: str | None = None,
        voice: bool = False,
    ) -> InboundOut:
        """The user sends a photo, a video, a voice note or a file: stored as a media object of
        the business's, then delivered as Meta delivers it (an id the Router fetches)."""
        data, mime_type, filename = file
        kind = kind_of_customer_file(mime_type)
        media = self.media.add(business.phone_number_id, data, mime_type, "customer", filename)
        content: dict[str, Any] = {}
        if caption and kind in ("image", "video", "document"):
            content["caption"] = caption
        if kind == "document":
            content["filename"] = filename or "file"
        content |= media_fields(media)
        if kind == "audio":
            content["voice"] = voice
        if kind == "sticker":
            content["animated"] = False
        spec = InboundSpec(type=kind, content=content, context_id=context_id)
        log.info("media.sent_by_user", media_id=media.id, type=kind, size=media.file_size)
        return await self.send_inbound(business, [(user, spec)])

    def _last_outbound(self, wa_id: str, phone_number_id: str) -> str | None:
        chat = reversed(self.store.conversation(wa_id, phone_number_id))
        return next((m.wamid for m in chat if m.direction == "outbound"), None)

    # -- statuses: the business's messages reach the user -------------------------------------

    def schedule_statuses(self, message: Message, user: User) -> None:
        self.statuses.start(message, user)


def media_fields(media: Media) -> dict[str, str]:
    """A media object as a webhook names it: MIME type, sha256 (base64, unlike the URL lookup's
    hex) and id."""
    return {"mime_type": media.mime_type, "sha256": media.sha256_base64, "id": media.id}
