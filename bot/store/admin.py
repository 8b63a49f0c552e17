"""Admin data: published content versions, pending uploads, announcement
subscriptions and broadcast runs."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.dialog.events import Reply
from bot.store import IntegrityError, Repo
from bot.store.outbox import PRIORITY_BULK, Outgoing
from bot.store.outbox import insert as outbox_insert

MAX_FIRST_REGIONS = 30  # Sichuan has 21 市州

VERSION_KINDS = ("original", "external", "upload", "rollback", "example")
PENDING_KINDS = ("upload", "rollback", "example")
PENDING_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Version:
    path: str
    version: int
    text: str
    author_id: int | None
    kind: str
    created_at: float


@dataclass(frozen=True)
class Pending:
    id: str
    admin_id: int
    path: str
    text: str
    kind: str
    created_at: float


@dataclass(frozen=True)
class Subscription:
    user_id: int
    chat_id: int
    region: str | None
    subscribed: bool
    blocked: bool


@dataclass(frozen=True)
class Broadcast:
    id: int
    admin_id: int
    region: str | None
    text: str
    status: str
    total: int
    sent: int
    blocked: int
    failed: int
    created_at: float
    finished_at: float | None


class AdminRepo(Repo):
    # -- content versions ------------------------------------------------------

    async def versions(self, path: str) -> list[Version]:
        rows = await self.store.fetchall(
            "SELECT path, version, text, author_id, kind, created_at FROM content_versions"
            " WHERE path = ? ORDER BY version",
            (path,),
        )
        return [Version(**dict(r)) for r in rows]

    async def version(self, path: str, number: int) -> Version | None:
        row = await self.store.fetchone(
            "SELECT path, version, text, author_id, kind, created_at FROM content_versions"
            " WHERE path = ? AND version = ?",
            (path, number),
        )
        return Version(**dict(row)) if row else None

    async def record_version(
        self,
        path: str,
        text: str,
        author_id: int,
        kind: str,
        previous_text: str | None,
        now: float | None = None,
    ) -> Version:
        """Record a newly published text of ``path``.

        ``previous_text`` is what the file held just before (None for a new file).
        The first time a file changes, that text becomes version 1 (the shipped
        text), so rollback can always go back to it; if the file was edited outside
        the assistant since the last recorded version, that text is recorded too."""
        if kind not in VERSION_KINDS:
            raise ValueError(f"unknown version kind {kind!r}")
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT version, text FROM content_versions WHERE path = ?"
                " ORDER BY version DESC LIMIT 1",
                (path,),
            )
            last = await cur.fetchone()
            if last is not None and last["text"] == text:
                # Recorded already: a publish stopped between recording and the swap
                # (the version is recorded first), now completed.
                row = await (
                    await db.execute(
                        "SELECT path, version, text, author_id, kind, created_at"
                        " FROM content_versions WHERE path = ? AND version = ?",
                        (path, last["version"]),
                    )
                ).fetchone()
                assert row is not None  # read in this transaction just above
                return Version(**dict(row))
            number = last["version"] if last else 0
            if previous_text is not None and (last is None or last["text"] != previous_text):
                number += 1
                await db.execute(
                    "INSERT INTO content_versions (path, version, text, author_id, kind,"
                    " created_at) VALUES (?, ?, ?, NULL, ?, ?)",
                    (path, number, previous_text, "original" if last is None else "external", now),
                )
            number += 1
            await db.execute(
                "INSERT INTO content_versions (path, version, text, author_id, kind, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (path, number, text, author_id, kind, now),
            )
        return Version(path, number, text, author_id, kind, now)

    async def latest_text(self, path: str) -> str | None:
        """The newest recorded text of ``path`` (what another worker published)."""
        row = await self.store.fetchone(
            "SELECT text FROM content_versions WHERE path = ? ORDER BY version DESC LIMIT 1",
            (path,),
        )
        return None if row is None else str(row["text"])

    async def drop_version(self, version: Version) -> None:
        """Remove a version recorded for a publish that did not go live."""
        await self.store.execute(
            "DELETE FROM content_versions WHERE path = ? AND version = ?",
            (version.path, version.version),
        )

    # -- uploads waiting for 发布 / 取消 ------------------------------------------

    async def delete_pending(self, token: str) -> None:
        await self.store.execute("DELETE FROM content_pending WHERE id = ?", (token,))

    async def add_pending(
        self, admin_id: int, path: str, text: str, kind: str, now: float | None = None
    ) -> str:
        if kind not in PENDING_KINDS:
            raise ValueError(f"unknown pending kind {kind!r}")
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(9)
        async with self.store.tx() as db:
            await db.execute(
                "DELETE FROM content_pending WHERE created_at < ?", (now - PENDING_TTL_SECONDS,)
            )
            await db.execute(
                "INSERT INTO content_pending (id, admin_id, path, text, kind, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token, admin_id, path, text, kind, now),
            )
        return token

    async def take_pending(self, token: str, now: float | None = None) -> Pending | None:
        """Remove and return a pending upload (once only); None when unknown or expired."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT id, admin_id, path, text, kind, created_at FROM content_pending"
                " WHERE id = ?",
                (token,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await db.execute("DELETE FROM content_pending WHERE id = ?", (token,))
        pending = Pending(**dict(row))
        if pending.created_at < now - PENDING_TTL_SECONDS:
            return None
        return pending

    async def get_pending(self, token: str) -> Pending | None:
        row = await self.store.fetchone(
            "SELECT id, admin_id, path, text, kind, created_at FROM content_pending WHERE id = ?",
            (token,),
        )
        return Pending(**dict(row)) if row else None

    # -- announcement subscriptions ---------------------------------------------

    async def subscribe(
        self, user_id: int, chat_id: int, region: str | None, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        await self.store.execute(
            "INSERT INTO announcement_subscribers (user_id, chat_id, region, subscribed, blocked,"
            " updated_at) VALUES (?, ?, ?, 1, 0, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id,"
            " region = excluded.region, subscribed = 1, blocked = 0,"
            " updated_at = excluded.updated_at",
            (user_id, chat_id, region, now),
        )

    async def unsubscribe(self, user_id: int, now: float | None = None) -> bool:
        """True when the user was subscribed."""
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "UPDATE announcement_subscribers SET subscribed = 0, updated_at = ?"
            " WHERE user_id = ? AND subscribed = 1",
            (now, user_id),
        )
        return changed > 0

    async def subscription(self, user_id: int) -> Subscription | None:
        row = await self.store.fetchone(
            "SELECT user_id, chat_id, region, subscribed, blocked FROM announcement_subscribers"
            " WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return Subscription(
            row["user_id"],
            row["chat_id"],
            row["region"],
            bool(row["subscribed"]),
            bool(row["blocked"]),
        )

    async def mark_blocked(self, user_id: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        await self.store.execute(
            "UPDATE announcement_subscribers SET blocked = 1, updated_at = ? WHERE user_id = ?",
            (now, user_id),
        )

    async def forget_subscriber(self, user_id: int) -> None:
        await self.store.execute(
            "DELETE FROM announcement_subscribers WHERE user_id = ?", (user_id,)
        )

    def _recipients_where(self, region: str | None) -> tuple[str, tuple]:
        # A regional notice reaches that region's subscribers and those who want all.
        if region is None:
            return "subscribed = 1 AND blocked = 0", ()
        return "subscribed = 1 AND blocked = 0 AND (region = ? OR region IS NULL)", (region,)

    async def recipients(
        self, region: str | None, first: Sequence[str] = ()
    ) -> list[tuple[int, int]]:
        """(user_id, chat_id) of everyone an announcement for ``region`` goes to, the
        subscribers of the 市州 in ``first`` first, in that order (a cold wave)."""
        where, params = self._recipients_where(region)
        order = "user_id"
        first = list(first)[:MAX_FIRST_REGIONS]
        if first:
            cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(first)))
            order = f"CASE region {cases} ELSE {len(first)} END, user_id"
        rows = await self.store.fetchall(
            f"SELECT user_id, chat_id FROM announcement_subscribers WHERE {where}"  # noqa: S608
            f" ORDER BY {order}",
            (*params, *first),
        )
        return [(r["user_id"], r["chat_id"]) for r in rows]

    async def count_recipients(self, region: str | None) -> int:
        where, params = self._recipients_where(region)
        return int(
            await self.store.fetchval(
                f"SELECT COUNT(*) FROM announcement_subscribers WHERE {where}",  # noqa: S608
                params,
            )
        )

    # -- broadcast runs -----------------------------------------------------------

    async def create_broadcast(
        self,
        token: str,
        admin_id: int,
        region: str | None,
        text: str,
        total: int,
        now: float | None = None,
    ) -> int | None:
        """A new run; None when this draft was already sent (confirm pressed twice)."""
        now = time.time() if now is None else now
        try:
            async with self.store.tx() as db:
                cur = await db.execute(
                    "INSERT INTO broadcasts (token, admin_id, region, text, total, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (token, admin_id, region, text, total, now),
                )
                return int((await cur.fetchone())["id"])
        except IntegrityError:
            return None

    async def start_broadcast(
        self,
        token: str,
        admin_id: int,
        chat_id: int,
        region: str | None,
        text: str,
        recipients: list[tuple[int, int]],
        reply: Reply,
        now: float | None = None,
        also: Sequence[Outgoing] = (),
    ) -> int | None:
        """A new run and one outbox row per recipient, in one transaction (with the
        messages ``also`` queued beside it); None when this draft was sent already
        (confirm pressed twice)."""
        now = time.time() if now is None else now
        try:
            async with self.store.tx() as db:
                cur = await db.execute(
                    "INSERT INTO broadcasts (token, admin_id, chat_id, region, text, total,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (token, admin_id, chat_id, region, text, len(recipients), now),
                )
                broadcast_id = int((await cur.fetchone())["id"])
                await outbox_insert(
                    db,
                    [
                        Outgoing(
                            reply,
                            "announcement",
                            recipient=chat,
                            priority=PRIORITY_BULK,
                            dedup=f"bc:{broadcast_id}:{user_id}",
                            broadcast_id=broadcast_id,
                            user_id=user_id,
                        )
                        for user_id, chat in recipients
                    ]
                    + list(also),
                    now,
                )
                return broadcast_id
        except IntegrityError:
            return None

    async def running_broadcast(self) -> int | None:
        row = await self.store.fetchone(
            "SELECT id FROM broadcasts WHERE status = 'running' ORDER BY id DESC LIMIT 1"
        )
        return None if row is None else int(row["id"])

    async def running_broadcasts(self) -> list[int]:
        rows = await self.store.fetchall(
            "SELECT id FROM broadcasts WHERE status = 'running' ORDER BY id"
        )
        return [int(r["id"]) for r in rows]

    async def finish_broadcast(
        self,
        broadcast_id: int,
        *,
        sent: int,
        blocked: int,
        failed: int,
        report: Outgoing,
        now: float | None = None,
    ) -> bool:
        """Mark the run done and queue the admin's final report in one transaction, so
        that no crash can leave a run 'done' whose report was never queued (or queued
        twice: the report has a dedup key). False when the run was done already."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "UPDATE broadcasts SET sent = ?, blocked = ?, failed = ?, status = 'done',"
                " finished_at = ? WHERE id = ? AND status <> 'done'",
                (sent, blocked, failed, now, broadcast_id),
            )
            if cur.rowcount != 1:
                return False
            await outbox_insert(db, [report], now)
            return True

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        row = await self.store.fetchone(
            "SELECT id, admin_id, region, text, status, total, sent, blocked, failed,"
            " created_at, finished_at FROM broadcasts WHERE id = ?",
            (broadcast_id,),
        )
        return Broadcast(**dict(row)) if row else None
