"""The terminal channel: the same engine, buttons printed as numbered options.

Interactive on a terminal; when stdin is not a terminal it reads one input per
line and prints every reply, so a whole conversation can be scripted:
``printf '/start\\n1\\n' | sanliang chat``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.dialog.engine import Engine
from bot.dialog.events import Button, Contact, Event, Location, Reply
from bot.render import html_to_plain

CONSOLE_CHAT_ID_OFFSET = 0


class ConsoleChannel:
    def __init__(self, engine: Engine, user_id: int, out: TextIO = sys.stdout) -> None:
        self.engine = engine
        self.user_id = user_id
        self.out = out
        self.buttons: list[Button] = []
        self.lettered = False
        # Typed "电话 …" / "位置 …" share a number or a place (labels console.*_word).
        self.contact_word = self.label("console.contact_word")
        self.location_word = self.label("console.location_word")

    def label(self, key: str, **context: object) -> str:
        return self.engine.renderer.label(key, **context)

    def _key(self, n: int) -> str:
        """Button n's key: 1, 2, 3 ... or a, b, c ... when the step waits for a number."""
        return chr(ord("a") + n - 1) if self.lettered and n <= 26 else str(n)

    def render(self, replies: list[Reply]) -> None:
        own = self.user_id + CONSOLE_CHAT_ID_OFFSET
        # Replies addressed to other chats (staff groups, other residents) are not shown here.
        replies = [r for r in replies if r.chat_id in (None, own)]
        shown: list[Button] = []
        self.lettered = bool(replies) and replies[-1].expects_number
        for reply in replies:
            print(html_to_plain(reply.text), file=self.out)
            if reply.document is not None:
                size = max(1, round(len(reply.document.data) / 1024))
                name = reply.document.file_name
                print(self.label("console.file", name=name, kb=size), file=self.out)
            for row in reply.buttons:
                cells = []
                for button in row:
                    shown.append(button)
                    cells.append(f"[{self._key(len(shown))}] {button.label}")
                print("  ".join(cells), file=self.out)
            if reply.request_contact:
                print(self.label("console.share_contact", word=self.contact_word), file=self.out)
            if reply.request_location:
                word = self.location_word
                print(self.label("console.share_location", word=word), file=self.out)
            print(file=self.out)
        if shown:
            self.buttons = shown

    def to_event(self, line: str) -> Event:
        text = line.strip()
        user, chat = self.user_id, self.user_id + CONSOLE_CHAT_ID_OFFSET
        for n, button in enumerate(self.buttons, 1):
            if text in (self._key(n), button.label):
                return Event(user, chat, payload=button.payload)
        word, _, rest = text.partition(" ")
        if word == self.contact_word and rest:
            return Event(user, chat, contact=Contact(rest.strip(), self.user_id))
        if word == self.location_word and rest:
            try:
                lat, lon = (float(x) for x in rest.split())
                return Event(user, chat, location=Location(lat, lon))
            except ValueError:
                pass
        return Event(user, chat, text=text)

    def out_of_range(self, line: str) -> bool:
        text = line.strip()
        if self.lettered or not self.buttons or not (text.isdigit() and len(text) <= 3):
            return False
        return not 1 <= int(text) <= len(self.buttons)

    async def send(self, line: str) -> list[Reply]:
        if self.out_of_range(line):
            print(self.label("console.out_of_range", n=len(self.buttons)) + "\n", file=self.out)
            return []
        replies = await self.engine.handle(self.to_event(line))
        self.render(replies)
        return replies


async def run_console(engine: Engine, user_id: int, stdin: TextIO = sys.stdin) -> int:
    channel = ConsoleChannel(engine, user_id)
    interactive = stdin.isatty()
    if interactive:
        print(channel.label("console.intro") + "\n")
        await channel.send("/start")
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            try:
                line = await loop.run_in_executor(None, input, "> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
        else:
            line = stdin.readline()
            if not line:
                return 0
            line = line.rstrip("\n")
            print(f"> {line}")
        if not line.strip():
            continue
        await channel.send(line)
