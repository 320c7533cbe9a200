"""Everything the Simulator records, in memory: it is a development tool, a restart forgets it all.

The models double as the inspection API's response bodies, so tests read exactly what is stored.
"""

import asyncio
import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

ContactShape = Literal["bsuid", "classic"]
Direction = Literal["inbound", "outbound"]
# inbound: pending -> delivered (the Router answered 2xx) -> read (the bot marked it), or failed.
# outbound: accepted -> sent -> delivered -> read, as the status webhooks announced them.
MessageStatus = Literal["pending", "delivered", "failed", "dropped", "accepted", "sent", "read"]
DeliveryKind = Literal["message", "status", "raw"]
DeliveryState = Literal["pending", "delivered", "failed", "dropped"]

STATUS_RANK = {"accepted": 0, "pending": 0, "sent": 1, "delivered": 2, "read": 3}


def now() -> float:
    return time.time()


class User(BaseModel):
    wa_id: str
    name: str
    user_id: str
    parent_user_id: str
    contact_shape: ContactShape = "bsuid"
    reads: bool = True
    outside_window: bool = False
    conversation_id: str = Field(default_factory=lambda: secrets.token_hex(15))
    created_at: float = Field(default_factory=now)


class Chat(BaseModel):
    """A user's conversation with one business number: its own window and typing indicator."""

    wa_id: str
    phone_number_id: str
    last_inbound_at: float | None = None
    typing_until: float | None = None


class StatusChange(BaseModel):
    status: str
    at: float


class Message(BaseModel):
    wamid: str
    direction: Direction
    wa_id: str
    phone_number_id: str  # the business number the user wrote to, or that sent it
    type: str
    # inbound: the whole message object as delivered; outbound: the type's object as received.
    payload: Any
    context_id: str | None = None
    # outbound: the send's biz_opaque_callback_data, echoed in every status webhook of the message.
    biz_opaque_callback_data: str | None = None
    # outbound templates: what the user's phone shows (header, body with its parameters, footer,
    # buttons), as app/templates.py renders it from the business's template.
    rendered: dict[str, Any] | None = None
    timestamp: int
    status: MessageStatus
    history: list[StatusChange] = Field(default_factory=list)

    def advance(self, status: MessageStatus) -> None:
        """Record a status; the displayed one never moves backwards, as on a phone."""
        self.history.append(StatusChange(status=status, at=now()))
        if status in ("failed", "dropped") or STATUS_RANK.get(status, 0) > STATUS_RANK.get(
            self.status, 0
        ):
            self.status = status


class GraphRequest(BaseModel):
    id: int
    at: float
    method: str
    path: str
    phone_id: str
    authorization: str | None
    body: Any
    status_code: int
    response: Any


class Attempt(BaseModel):
    at: float
    status_code: int | None = None
    error: str | None = None


class Delivery(BaseModel):
    id: str
    kind: DeliveryKind
    url: str
    body: str
    signature: str
    wamids: list[str]
    state: DeliveryState = "pending"
    attempts: list[Attempt] = Field(default_factory=list)
    duplicate_of: str | None = None
    created_at: float = Field(default_factory=now)


class Hub:
    """Fan-out of live events to the chat pages' SSE streams."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, Any]]] = set()
        self.closing = asyncio.Event()

    def close(self) -> None:
        """The server is stopping: every stream ends so that it can."""
        self.closing.set()

    def subscribe(self) -> "asyncio.Queue[tuple[str, Any]]":
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=1000)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: "asyncio.Queue[tuple[str, Any]]") -> None:
        self._queues.discard(queue)

    @property
    def listening(self) -> bool:
        """Whether any page listens: events nobody reads are not even built."""
        return bool(self._queues)

    def publish(self, event: str, data: Any) -> None:
        for queue in self._queues:
            # A page too slow to read 1000 events reloads its state; the Simulator never blocks.
            if not queue.full():
                queue.put_nowait((event, data))


class Store:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.messages: dict[str, Message] = {}
        self.requests: list[GraphRequest] = []
        self.deliveries: dict[str, Delivery] = {}
        self.chats: dict[tuple[str, str], Chat] = {}
        self.hub = Hub()
        # Indexes, so that a send or a mark-as-read costs the same after a benchmark's 100,000.
        self._threads: dict[tuple[str, str], list[Message]] = {}
        self._bsuids: dict[str, str] = {}

    def clear(self) -> None:
        self.users.clear()
        self.messages.clear()
        self.requests.clear()
        self.deliveries.clear()
        self.chats.clear()
        self._threads.clear()
        self._bsuids.clear()
        self.hub.publish("reset", {})

    def user_by_bsuid(self, user_id: str) -> User | None:
        user = self.users.get(self._bsuids.get(user_id, ""))
        if user is not None and user.user_id == user_id:
            return user
        # Not indexed (a user replaced with another BSUID shared it): the first with it, as ever.
        return next((u for u in self.users.values() if u.user_id == user_id), None)

    def add_message(self, message: Message) -> None:
        self.messages[message.wamid] = message
        self._threads.setdefault((message.wa_id, message.phone_number_id), []).append(message)
        if self.hub.listening:
            self.hub.publish("message", message.model_dump(mode="json"))

    def set_status(self, message: Message, status: MessageStatus) -> None:
        message.advance(status)
        if self.hub.listening:
            data = {"wamid": message.wamid, "wa_id": message.wa_id, "status": message.status}
            self.hub.publish("status", data)

    def put_user(self, user: User) -> None:
        self.users[user.wa_id] = user
        self._bsuids.setdefault(user.user_id, user.wa_id)
        if self.hub.listening:
            self.hub.publish("user", user.model_dump(mode="json"))

    def chat(self, wa_id: str, phone_number_id: str) -> Chat:
        key = (wa_id, phone_number_id)
        chat = self.chats.get(key)
        if chat is None:
            chat = self.chats[key] = Chat(wa_id=wa_id, phone_number_id=phone_number_id)
        return chat

    def conversation(self, wa_id: str, phone_number_id: str) -> list[Message]:
        """The user's messages with one business number, both directions, oldest first."""
        return list(self._threads.get((wa_id, phone_number_id), ()))
