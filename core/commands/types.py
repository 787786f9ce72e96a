"""Transport-agnostic command and reply types: the contract between chat adapters and the core.

A :class:`Command` carries the *platform identity* (platform name, numeric user id, chat id, chat
type) and an idempotency key built from the platform's own ids (Telegram ``chat:message`` or the
callback query id, Discord interaction id, console line number). A :class:`Reply` is what an adapter
renders: text, rows of buttons, attachments (PNG charts) and an ephemeral flag. Buttons carry an
*action*: a command line (``"confirm 12"``) that the adapter sends back as a new :class:`Command`
with ``via_button=True`` when pressed. Actions stay below 64 bytes (Telegram's callback-data limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

#: Telegram allows 64 bytes of callback data; Discord 100 characters of custom_id.
MAX_ACTION_BYTES = 64


class ChatType(StrEnum):
    """Where a command was sent. Groups, supergroups, channels and guild channels are ``GROUP``."""

    PRIVATE = "private"
    GROUP = "group"


class Role(StrEnum):
    """Ordered roles; a higher role can do everything a lower one can (see :data:`ROLE_ORDER`)."""

    VISITOR = "visitor"
    MEMBER = "member"
    VERIFIED = "verified_member"
    ORG_ADMIN = "org_admin"
    PLATFORM_ADMIN = "platform_admin"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)


ROLE_ORDER: tuple[Role, ...] = (
    Role.VISITOR,
    Role.MEMBER,
    Role.VERIFIED,
    Role.ORG_ADMIN,
    Role.PLATFORM_ADMIN,
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is speaking and where. ``user_id`` and ``chat_id`` are the platform's numeric ids."""

    platform: str
    user_id: int
    chat_id: int
    chat_type: ChatType = ChatType.PRIVATE
    display_name: str = ""  # shown back to the user only; never used for authorisation


@dataclass(frozen=True, slots=True)
class Command:
    """One request from a chat.

    ``text`` is what follows the command name (free text for conversation steps). ``edited`` is True
    when the platform delivered an edit of an earlier message: such commands never move money.
    """

    identity: Identity
    name: str
    args: tuple[str, ...] = ()
    idempotency_key: str = ""
    via_button: bool = False
    edited: bool = False
    text: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    """A button: ``label`` shown to the user, ``action`` (a command line) sent back when pressed."""

    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"button action too long for Telegram callback data: {self.action!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a reply; ``data`` is raw bytes (PNG for charts)."""

    filename: str
    data: bytes
    mime_type: str = "image/png"
    caption: str = ""


@dataclass(slots=True)
class Reply:
    """What the adapter renders.

    ``expect`` names the conversation step whose free-text answer the command layer expects next
    (e.g. ``"org_name"``); adapters route the next plain message to it. ``None`` ends a conversation.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    ephemeral: bool = False
    expect: str | None = None

    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message the core wants delivered to a chat outside a request (digests, proposals, alerts)."""

    platform: str
    chat_id: int
    reply: Reply
    chat_type: ChatType = ChatType.PRIVATE
