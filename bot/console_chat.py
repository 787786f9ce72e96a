"""The console adapter: the same command layer in a terminal, for people and scripts without a bot.

Input lines: ``/command args`` runs a command; ``press N`` presses button N of the last reply that
had buttons; any other text answers the question the last reply asked (``Reply.expect``);
``@name /command`` runs one line as another console user (scripts with an admin); ``#`` starts a
comment; ``quit`` ends. Console users are identified by a numeric id derived from their name
(platform ``console``); charts are written as PNG files and their paths printed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.commands.dispatcher import CommandLayer
from core.commands.types import ChatType, Identity, OutboundMessage, Reply

PLATFORM = "console"


def console_user_id(name: str) -> int:
    """A stable numeric id for a console user name (48 bits, never 0)."""
    return int(hashlib.sha256(name.strip().lower().encode()).hexdigest()[:12], 16) or 1


@dataclass
class ConsoleChat:
    """One terminal conversation; ``write`` receives every output line."""

    layer: CommandLayer
    user: str
    write: Callable[[str], None] = print
    files_dir: Path = field(default_factory=lambda: Path("arena-chat-files"))
    buttons: list[str] = field(default_factory=list)
    expect: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _count: int = 0
    _names: dict[int, str] = field(default_factory=dict)

    def identity(self, name: str) -> Identity:
        user_id = console_user_id(name)
        self._names[user_id] = name
        return Identity(PLATFORM, user_id, user_id, ChatType.PRIVATE, name)

    def notify(self, message: OutboundMessage) -> None:
        """A :class:`core.notify.Notifier`: messages pushed to a console user's chat are printed."""
        who = self._names.get(message.chat_id, f"chat {message.chat_id}")
        self.write(f"[pushed to {who}] {message.reply.text}")

    def render(self, reply: Reply) -> None:
        self.write(reply.text)
        for attachment in reply.attachments:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / attachment.filename
            path.write_bytes(attachment.data)
            kind = "chart" if attachment.mime_type.startswith("image/") else "file"
            self.write(f"[{kind} saved: {path}]")
        if reply.buttons:
            self.buttons = [b.action for b in reply.all_buttons()]
            labels = "  ".join(f"[{i}] {b.label}" for i, b in enumerate(reply.all_buttons(), 1))
            self.write(f"{labels}   (type: press N)")
        self.expect = reply.expect

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
            if not number.isdigit() or not 1 <= int(number) <= len(self.buttons):
                reply = Reply(f"There is no button {number[:10]}; the last reply had {len(self.buttons)}.")
                self.render(reply)
                return reply
            line, via_button = "/" + self.buttons[int(number) - 1], True
        elif not line.startswith("/"):
            if self.expect is None:
                reply = Reply("Commands start with /. Send /help for the list.")
                self.render(reply)
                return reply
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
