"""Channel identities: a channel's own id for a person, as text, mapped to the internal
user id every other table uses (migration 0007 says why the ids cannot collide)."""

from __future__ import annotations

import time
from collections import OrderedDict

from bot.store import Repo

# Internal ids of non-Telegram channels start above this (Telegram ids have <= 52 bits).
FIRST_ALLOCATED_ID = 10_000_000_000_000_000
TELEGRAM = "telegram"
CACHE_SIZE = 50_000


def is_allocated(user_id: int) -> bool:
    """True for ids allocated to a non-Telegram channel (web, later WeChat)."""
    return user_id > FIRST_ALLOCATED_ID


class IdentityRepo(Repo):
    def __init__(self, store) -> None:
        super().__init__(store)
        # (channel, external id) -> internal id. Ids never change once given; a
        # forgotten identity is dropped from here too.
        self._cache: OrderedDict[tuple[str, str], int] = OrderedDict()

    def _remember(self, key: tuple[str, str], user_id: int) -> int:
        self._cache[key] = user_id
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return user_id

    async def find(self, channel: str, external_id: str) -> int | None:
        key = (channel, external_id)
        if key in self._cache:
            return self._cache[key]
        row = await self.store.fetchone(
            "SELECT id FROM channel_identities WHERE channel = ? AND external_id = ?", key
        )
        return None if row is None else self._remember(key, int(row["id"]))

    async def resolve(self, channel: str, external_id: str) -> int:
        """The internal id for this channel's id, created on first sight."""
        external_id = str(external_id)
        found = await self.find(channel, external_id)
        if found is not None:
            return found
        now = time.time()
        preferred = None
        if channel == TELEGRAM and external_id.isdigit():
            value = int(external_id)
            if 0 < value < FIRST_ALLOCATED_ID:
                preferred = value  # a Telegram user keeps their id
        async with self.store.tx() as db:
            cur = (
                await db.execute(
                    "INSERT INTO channel_identities (id, channel, external_id, created_at,"
                    " seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (preferred, channel, external_id, now, now),
                )
                if preferred is not None
                else None
            )
            if cur is None or cur.rowcount != 1:
                # Either the same identity was created meanwhile, or (never for a real
                # Telegram id) the preferred id is taken: allocate one.
                cur = await db.execute(
                    "SELECT id FROM channel_identities WHERE channel = ? AND external_id = ?",
                    (channel, external_id),
                )
                row = await cur.fetchone()
                if row is None:
                    await db.execute(
                        "INSERT INTO channel_identities (channel, external_id, created_at,"
                        " seen_at) VALUES (?, ?, ?, ?)",
                        (channel, external_id, now, now),
                    )
            cur = await db.execute(
                "SELECT id FROM channel_identities WHERE channel = ? AND external_id = ?",
                (channel, external_id),
            )
            row = await cur.fetchone()
        if row is None:  # cannot happen: the row was just written in this transaction
            raise RuntimeError("identity not stored")
        return self._remember((channel, external_id), int(row["id"]))

    async def channel_of(self, user_id: int) -> str | None:
        row = await self.store.fetchone(
            "SELECT channel FROM channel_identities WHERE id = ?", (user_id,)
        )
        return None if row is None else str(row["channel"])

    async def forget(self, user_id: int) -> int:
        """Drop every channel id that maps to this user (their id is never given again)."""
        for key in [k for k, v in self._cache.items() if v == user_id]:
            del self._cache[key]
        return await self.store.execute("DELETE FROM channel_identities WHERE id = ?", (user_id,))
