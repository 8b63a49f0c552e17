"""The web channel's conversation log and its queue of messages outside the turn."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Coalescer, Repo

HISTORY_LIMIT = 60  # messages a page shows after a reload
KEEP_PER_USER = 200  # older messages are dropped as new ones come
TRIM_EVERY = 16  # ... checked on about one append in this many


@dataclass(frozen=True)
class WebMessage:
    id: int
    role: str  # user | bot | notice
    body: str
    buttons: list[list[list[str]]]
    extra: dict[str, Any]
    created_at: float
    shown_at: float | None

    @property
    def unread(self) -> bool:
        return self.role == "notice" and self.shown_at is None


def _message(row: Any) -> WebMessage:
    return WebMessage(
        id=int(row["id"]),
        role=row["role"],
        body=row["body"],
        buttons=json.loads(row["buttons"]),
        extra=json.loads(row["extra"]),
        created_at=float(row["created_at"]),
        shown_at=row["shown_at"],
    )


Entry = tuple[str, str, list[list[list[str]]], dict[str, Any]]  # role, body, buttons, extra


class WebRepo(Repo):
    def __init__(self, store) -> None:
        super().__init__(store)
        # Turns of different residents ending at the same moment share one INSERT.
        self._appends: Coalescer[list[tuple], list[int]] = Coalescer(self._append_many)

    async def _append_many(self, items: list[list[tuple]]) -> list[list[int]]:
        """One statement (so one transaction) for all the items' rows. Row ids are
        given in the order of the VALUES, so the sorted ids map back to the rows."""
        rows = [row for item in items for row in item]
        sql = (
            "INSERT INTO web_messages (user_id, role, body, buttons, extra, created_at, shown_at)"
            " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows)) + " RETURNING id"
        )
        params = [v for row in rows for v in row]
        ids = sorted(int(r["id"]) for r in await self.store.fetchall(sql, params))
        out, at = [], 0
        for item in items:
            out.append(ids[at : at + len(item)])
            at += len(item)
        return out

    async def append(
        self, user_id: int, entries: list[Entry], now: float | None = None
    ) -> list[WebMessage]:
        """Store a turn's messages (or one notice) in one statement; returns them."""
        if not entries:
            return []
        now = time.time() if now is None else now
        rows = []
        for role, body, buttons, extra in entries:
            rows.append(
                (
                    user_id,
                    role,
                    body,
                    json.dumps(buttons, ensure_ascii=False),
                    json.dumps(extra, ensure_ascii=False),
                    now,
                    None if role == "notice" else now,
                )
            )
        ids = await self._appends.submit(rows)
        if secrets.randbelow(TRIM_EVERY) == 0:
            await self.trim(user_id)
        return [
            WebMessage(i, role, body, buttons, extra, now, None if role == "notice" else now)
            for i, (role, body, buttons, extra) in zip(ids, entries, strict=True)
        ]

    async def trim(self, user_id: int) -> int:
        """Only the newest messages are kept (the page shows fewer still)."""
        return await self.store.execute(
            "DELETE FROM web_messages WHERE user_id = ? AND id < (SELECT id FROM"
            " web_messages WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (user_id, user_id, KEEP_PER_USER - 1),
        )

    async def history(self, user_id: int, limit: int = HISTORY_LIMIT) -> list[WebMessage]:
        rows = await self.store.fetchall(
            "SELECT * FROM (SELECT * FROM web_messages WHERE user_id = ? ORDER BY id DESC"
            " LIMIT ?) AS recent ORDER BY id",
            (user_id, limit),
        )
        return [_message(r) for r in rows]

    async def after(self, user_id: int, after_id: int) -> list[WebMessage]:
        rows = await self.store.fetchall(
            "SELECT * FROM web_messages WHERE user_id = ? AND id > ? ORDER BY id LIMIT 100",
            (user_id, after_id),
        )
        return [_message(r) for r in rows]

    async def unread(self, user_id: int) -> int:
        row = await self.store.fetchone(
            "SELECT COUNT(*) AS n FROM web_messages WHERE user_id = ? AND role = 'notice'"
            " AND shown_at IS NULL",
            (user_id,),
        )
        return int(row["n"]) if row else 0

    async def mark_shown(self, user_id: int, up_to: int, now: float | None = None) -> int:
        return await self.store.execute(
            "UPDATE web_messages SET shown_at = ? WHERE user_id = ? AND id <= ?"
            " AND shown_at IS NULL",
            (time.time() if now is None else now, user_id, up_to),
        )

    async def backlog(self) -> int:
        """Messages outside the turn no page has shown yet (all residents)."""
        row = await self.store.fetchone(
            "SELECT COUNT(*) AS n FROM web_messages WHERE shown_at IS NULL"
        )
        return int(row["n"]) if row else 0

    async def forget_user(self, user_id: int) -> int:
        return await self.store.execute("DELETE FROM web_messages WHERE user_id = ?", (user_id,))

    async def purge(self, older_than: float) -> int:
        """Drop messages older than the retention (the conversation log is personal)."""
        return await self.store.execute(
            "DELETE FROM web_messages WHERE created_at < ?", (older_than,)
        )

    async def secret(self, name: str = "cookie_key") -> str:
        """A random key kept in the database, made on first use."""
        await self.store.execute(
            "INSERT INTO web_settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (name, secrets.token_urlsafe(32)),
        )
        row = await self.store.fetchone("SELECT value FROM web_settings WHERE key = ?", (name,))
        assert row is not None
        return str(row["value"])
