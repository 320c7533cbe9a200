"""What the demo company holds. Numbers and texts are made up, and names say a role, never a
person; the numbers are the ones `make demo` has the Simulator play (it reads them from the
seed's `--json` answer)."""

from dataclasses import dataclass
from datetime import timedelta

from app.auth.roles import Role
from app.messages.models import OutboundStatus, Sender

TENANT = "Demo company"
WABA_ID = "2345678909876543210"  # one WhatsApp Business Account holds both numbers


@dataclass(frozen=True, slots=True)
class DemoChannel:
    name: str
    phone_number_id: str
    display_phone_number: str  # as the Graph API answers it: "+" and the digits
    verified_name: str  # the name WhatsApp users see; the Simulator's business name


@dataclass(frozen=True, slots=True)
class DemoMember:
    name: str
    email: str
    role: Role


@dataclass(frozen=True, slots=True)
class DemoContact:
    wa_id: str
    name: str  # their WhatsApp profile name
    user_id: str | None = None  # the business-scoped user id, for a contact WhatsApp gives one
    email: str | None = None  # set by a member
    description: str | None = None
    blocked: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """One message of a conversation's history, `ago` before the first seeding."""

    sender: Sender
    text: str
    ago: timedelta
    author: DemoMember | None = None  # the member who wrote it (sender agent)
    status: OutboundStatus = OutboundStatus.READ  # outbound lines only


@dataclass(frozen=True, slots=True)
class DemoConversation:
    slug: str  # names its messages' wamids
    channel: DemoChannel
    contact: DemoContact
    lines: tuple[Line, ...]
    owner: DemoMember | None = None  # None: the bot
    closed: bool = False

    def wamid(self, index: int) -> str:
        return f"wamid.demo.{self.slug}.{index}"


SALES = DemoChannel("Sales", "2233445566778", "+15550002000", "Demo company Sales")
SUPPORT = DemoChannel("Support", "3344556677889", "+15550003000", "Demo company Support")
CHANNELS = (SALES, SUPPORT)
# An `api` channel (a web chat, another system), written to through POST /webhooks/inbound.
WEB_CHAT = "Web chat"

OWNER = DemoMember("Demo Owner", "owner@demo-company.example", Role.OWNER)
AGENT = DemoMember("Support Agent 1", "agent1@demo-company.example", Role.AGENT)
SECOND_AGENT = DemoMember("Support Agent 2", "agent2@demo-company.example", Role.AGENT)
MEMBERS = (OWNER, AGENT, SECOND_AGENT)

SHIPPING = DemoContact("15550101001", "Shipping Customer")
ORDER = DemoContact(
    "15550101002",
    "Order Customer",
    email="order.customer@mail.example",
    description="Order #1042, not delivered yet; asked for a person.",
)
HOURS = DemoContact("15550101003", "Opening Hours Customer")
WAITING = DemoContact("15550101004", "Waiting Customer", user_id="US.13491208655302741918")
BLOCKED = DemoContact(
    "15550101005", "Blocked Customer", description="Sent the same link forty times.", blocked=True
)
CONTACTS = (SHIPPING, ORDER, HOURS, WAITING, BLOCKED)


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _asks(text: str, minutes_ago: float) -> Line:
    return Line(Sender.CONTACT, text, _minutes(minutes_ago))


def _bot(asked: str, number: int, minutes_ago: float) -> Line:
    """The Server's answer, as it writes it."""
    reply = f"I received your message: '{asked}' and here is a random number: {number}"
    return Line(Sender.AI, reply, _minutes(minutes_ago))


def _agent(member: DemoMember, text: str, minutes_ago: float, status: OutboundStatus) -> Line:
    return Line(Sender.AGENT, text, _minutes(minutes_ago), author=member, status=status)


def _exchange(asked: str, number: int, minutes_ago: float) -> tuple[Line, Line]:
    return _asks(asked, minutes_ago), _bot(asked, number, minutes_ago - 0.05)


CONVERSATIONS = (
    DemoConversation(
        "hours-sales",
        SALES,
        HOURS,
        (
            *_exchange("Are you open on Saturdays?", 12, 3 * 24 * 60),
            _agent(
                SECOND_AGENT,
                "Yes, from 10:00 to 14:00. See you!",
                3 * 24 * 60 - 6,
                OutboundStatus.READ,
            ),
        ),
        closed=True,
    ),
    DemoConversation(
        "shipping-sales",
        SALES,
        SHIPPING,
        (
            *_exchange("Hi! Do you ship to Haifa?", 417, 125),
            *_exchange("Great, how long does it take?", 88, 121),
        ),
    ),
    DemoConversation(
        "order-support",
        SUPPORT,
        ORDER,
        (
            *_exchange("My order #1042 has not arrived yet", 256, 42),
            *_exchange("Can I talk to a person, please?", 731, 40),
            _agent(
                AGENT,
                "Hello, this is support. I am checking order #1042 now.",
                35,
                OutboundStatus.DELIVERED,
            ),
        ),
        owner=AGENT,
    ),
    DemoConversation(
        "waiting-support",
        SUPPORT,
        WAITING,
        _exchange("Hello, is anyone there?", 905, 6),
    ),
)
