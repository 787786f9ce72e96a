"""The console adapter: the same command layer in a terminal, for people and scripts without a bot.

Input lines: ``/command args`` runs a command; ``press N`` presses button N (buttons are numbered
once per session, so a button of an earlier reply — e.g. the first of two pending confirmations —
stays pressable); any other text answers the question the last reply asked (``Reply.expect``) or,
when none is open, gets a short menu; ``@name /command`` runs one line as another console user
(scripts with an admin); ``#`` starts a comment; ``quit`` ends. Console users are identified by a
numeric id derived from their name (platform ``console``); charts are written as PNG files and their
paths printed. Messages the platform pushes to console users (proposals, notices) are printed with
their recipient, through :class:`ConsoleNotifier`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.commands.dispatcher import CommandLayer
from core.commands.types import ChatType, Identity, OutboundMessage, Reply
from core.compliance.identity import console_user_id

PLATFORM = "console"


@dataclass
class ConsoleChat:
    """One terminal conversation; ``write`` receives every output line."""

    layer: CommandLayer
    user: str
    write: Callable[[str], None] = print
    files_dir: Path = field(default_factory=lambda: Path("arena-chat-files"))
    buttons: dict[int, str] = field(default_factory=dict)
    expect: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    names: dict[int, str] = field(default_factory=dict)
    _count: int = 0

    def identity(self, name: str) -> Identity:
        user_id = console_user_id(name)
        self.names.setdefault(user_id, name)
        return Identity(PLATFORM, user_id, user_id, ChatType.PRIVATE, name)

    def render(self, reply: Reply) -> None:
        self.write(reply.text)
        for attachment in reply.attachments:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / attachment.filename
            path.write_bytes(attachment.data)
            kind = "chart" if attachment.mime_type.startswith("image/") else "file"
            self.write(f"[{kind} saved: {path}]")
        if reply.buttons:
            labels = []
            for button in reply.all_buttons():
                number = len(self.buttons) + 1
                self.buttons[number] = button.action
                labels.append(f"[{number}] {button.label}")
            self.write(f"{'  '.join(labels)}   (type: press N)")
        self.expect = reply.expect

    def pushed(self, message: OutboundMessage) -> None:
        """A message the platform sent to a console user outside their own request."""
        if message.platform != PLATFORM:
            return
        who = self.names.get(message.chat_id, f"chat {message.chat_id}")
        self.write(f"[message for {who}]")
        self.render(message.reply)

    def handle(self, line: str) -> Reply | None:
        """Process one input line; returns the reply shown (None for blank lines and comments)."""
        line = line.strip()
        if not line or line.startswith("#"):
            return None
        name = self.user
        if line.startswith("@") and " " in line:
            name, line = line[1:].split(" ", 1)
            line = line.strip()
        self._count += 1
        key = f"console:{self.run_id}:{self._count}"
        via_button = False
        if line.lower().startswith("press "):
            number = line[6:].strip()
            if not number.isdigit() or int(number) not in self.buttons:
                shown = f"1 to {len(self.buttons)}" if self.buttons else "none yet"
                reply = Reply(f"There is no button {number[:10]}; buttons so far: {shown}.")
                self.render(reply)
                return reply
            line, via_button = "/" + self.buttons[int(number)], True
        elif not line.startswith("/") and self.expect is not None:
            line = f"/{self.expect} {line}"
        reply = self.layer.handle_line(self.identity(name), line, key, via_button=via_button)
        self.render(reply)
        return reply

    def run_script(self, lines: Iterable[str]) -> int:
        """Run one command per line, echoing each; returns how many lines ran."""
        ran = 0
        for raw in lines:
            line = raw.rstrip("\n")
            if not line.strip() or line.strip().startswith("#"):
                continue
            self.write(f"> {line.strip()}")
            self.handle(line)
            self.write("")
            ran += 1
        return ran


class ConsoleNotifier:
    """The :class:`~core.notify.Notifier` of the console: pushed messages are printed at once."""

    def __init__(self) -> None:
        self.chat: ConsoleChat | None = None
        self.pending: list[OutboundMessage] = []

    def notify(self, message: OutboundMessage) -> None:
        if self.chat is None:
            self.pending.append(message)
            return
        self.chat.pushed(message)
