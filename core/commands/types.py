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

from core.models.compliance import Role

#: Telegram allows 64 bytes of callback data; Discord 100 characters of custom_id.
MAX_ACTION_BYTES = 64


class ChatType(StrEnum):
    """Where a command was sent. Groups, supergroups, channels and guild channels are ``GROUP``."""

    PRIVATE = "private"
    GROUP = "group"


#: Roles from least to most privileged; a higher role can do everything a lower one can.
ROLE_ORDER: tuple[Role, ...] = (
    Role.VISITOR,
    Role.MEMBER,
    Role.VERIFIED_MEMBER,
    Role.ORG_ADMIN,
    Role.PLATFORM_ADMIN,
)


def role_rank(role: Role) -> int:
    """Position of ``role`` in :data:`ROLE_ORDER` (0 = visitor)."""
    return ROLE_ORDER.index(role)


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

    ``expect`` is the command the user's next free-text answer completes, given as a command-line
    prefix (e.g. ``"org register church"``): adapters append the user's next plain
    message to it and send it as a command. ``step`` is the conversation state this reply leaves the
    user in (see ``core.commands.handlers.onboarding.Step``); ``None`` ends the conversation.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    ephemeral: bool = False
    expect: str | None = None
    step: str | None = None

    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message pushed to a chat outside a request (digests, proposals, alerts)."""

    platform: str
    chat_id: int
    reply: Reply
    chat_type: ChatType = ChatType.PRIVATE
    #: Same key, one stored message (a producer that may run twice, e.g. a retried job, passes one).
    dedupe_key: str | None = None
