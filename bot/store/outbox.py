"""The outbox: messages to send outside the sender's own turn, one row each.

Rows are written with ``insert(db, items)`` inside the transaction of the change that
causes them (or with ``enqueue`` on their own), and go through
pending → sending → sent | failed | unknown | cancelled. The sender (bot/outbox.py)
claims a row (commits 'sending') before it calls the channel, so a row is never
delivered twice, also across restarts.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.dialog.events import Attachment, Button, Reply
from bot.render import Rendered
from bot.store import Repo

PRIORITY_URGENT, PRIORITY_NORMAL, PRIORITY_BULK = 0, 1, 2
DONE_STATUSES = ("sent", "failed", "unknown", "cancelled")


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a template value (what tests and reports read back)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def reply_to_json(reply: Reply) -> str:
    data: dict[str, Any] = {"t": str(reply.text)}
    if reply.template:
        data["tpl"] = reply.template
        context = getattr(reply.text, "context", None)
        if context:
            data["ctx"] = _plain(context)
    if reply.buttons:
        data["b"] = [[[b.label, b.payload] for b in row] for row in reply.buttons]
    for key, value in (
        ("c", reply.case_id),
        ("g", reply.group_chat),
        ("m", reply.edit_message_id),
    ):
        if value is not None:
            data[key] = int(value)
    for key, flag in (
        ("e", reply.edit),
        ("rc", reply.request_contact),
        ("rl", reply.request_location),
        ("n", reply.expects_number),
    ):
        if flag:
            data[key] = 1
    if reply.document is not None:
        doc = reply.document
        data["f"] = [doc.file_name, doc.mime, base64.b64encode(doc.data).decode("ascii")]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def reply_from_json(raw: str, chat_id: int | None = None) -> Reply:
    data = json.loads(raw)
    text: str = data["t"]
    if data.get("tpl"):
        text = Rendered(text, data["tpl"], data.get("ctx"))
    document = None
    if data.get("f"):
        name, mime, raw_data = data["f"]
        document = Attachment(name, base64.b64decode(raw_data), mime)
    return Reply(
        text,
        [[Button(label, payload) for label, payload in row] for row in data.get("b", [])],
        edit=bool(data.get("e")),
        request_contact=bool(data.get("rc")),
        request_location=bool(data.get("rl")),
        expects_number=bool(data.get("n")),
        chat_id=chat_id,
        document=document,
        case_id=data.get("c"),
        group_chat=data.get("g"),
        edit_message_id=data.get("m"),
    )


@dataclass
class Outgoing:
    """One message to queue. ``recipient`` defaults to ``reply.chat_id``."""

    reply: Reply
    kind: str
    recipient: int | None = None
    channel: str = "telegram"
    priority: int = PRIORITY_NORMAL
    dedup: str | None = None
    case_id: int | None = None
    broadcast_id: int | None = None
    user_id: int | None = None
    cause: int | None = None
    not_before: float | None = None
    edit_of: int | None = None  # an edit of the message of this outbox row

    @property
    def to(self) -> int:
        to = self.recipient if self.recipient is not None else self.reply.chat_id
        if to is None:
            raise ValueError("an outbox message needs a recipient")
        return int(to)


@dataclass(frozen=True)
class Message:
    """A row of the outbox."""

    id: int
    channel: str
    recipient: int
    kind: str
    body: str
    priority: int
    case_id: int | None
    broadcast_id: int | None
    user_id: int | None
    cause: int | None
    status: str
    attempts: int
    next_at: float
    error: str | None
    message_id: int | None
    edit_of: int | None = None

    @property
    def reply(self) -> Reply:
        return reply_from_json(self.body, self.recipient)


_COLUMNS = (
    "id, channel, recipient, kind, body, priority, case_id, broadcast_id, user_id, cause,"
    " status, attempts, next_at, error, message_id, edit_of"
)
_INSERT = (
    "INSERT INTO outbox (channel, recipient, kind, body, priority, dedup, case_id,"
    " broadcast_id, user_id, cause, next_at, created_at, edit_of) VALUES"
)


def _message(row: Any) -> Message:
    return Message(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite rows


async def insert(db: Any, items: Iterable[Outgoing], now: float | None = None) -> int:
    """Queue ``items`` on ``db``, inside the caller's transaction. A message whose
    ``dedup`` key is queued already is skipped. Returns the number queued."""
    now = time.time() if now is None else now
    rows = [
        (
            item.channel,
            item.to,
            item.kind,
            reply_to_json(item.reply),
            item.priority,
            item.dedup,
            item.case_id,
            item.broadcast_id,
            item.user_id,
            item.cause,
            now if item.not_before is None else item.not_before,
            now,
            item.edit_of,
        )
        for item in items
    ]
    added = 0
    for start in range(0, len(rows), 200):  # SQLite's limit on bound parameters
        chunk = rows[start : start + 200]
        sql = (
            _INSERT
            + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            + " ON CONFLICT DO NOTHING"
        )
        cur = await db.execute(sql, [v for row in chunk for v in row])
        added += max(cur.rowcount, 0)
    return added


class OutboxRepo(Repo):
    async def enqueue(self, items: Iterable[Outgoing], now: float | None = None) -> int:
        items = list(items)
        if not items:
            return 0
        async with self.store.tx() as db:
            return await insert(db, items, now)

    async def due(self, now: float, limit: int = 64, channels: Iterable[str] = ()) -> list[Message]:
        """Pending rows whose time has come, urgent first, oldest first."""
        names = list(channels)
        where = ""
        if names:
            where = f" AND channel IN ({', '.join('?' * len(names))})"
        rows = await self.store.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' AND next_at <= ?{where}"  # noqa: S608
            " ORDER BY priority, next_at, id LIMIT ?",
            (now, *names, limit),
        )
        return [_message(r) for r in rows]

    async def next_due(self) -> float | None:
        row = await self.store.fetchone(
            "SELECT MIN(next_at) AS t FROM outbox WHERE status = 'pending'"
        )
        return None if row is None or row["t"] is None else float(row["t"])

    async def claim(self, message_id: int) -> bool:
        """pending → sending (committed before the channel is called)."""
        # SKIP LOCKED: a row another worker is claiming right now is left to it at once
        # (no wait); either way only one claim can find it still pending.
        changed = await self.store.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = ?"
            " WHERE id = (SELECT id FROM outbox WHERE id = ? AND status = 'pending'"
            " FOR UPDATE SKIP LOCKED) AND status = 'pending'",
            (self.store.worker, message_id),
        )
        return changed == 1

    async def mark_sent(
        self, message_id: int, channel_message_id: int | None = None, now: float | None = None
    ) -> None:
        await self.store.execute(
            "UPDATE outbox SET status = 'sent', message_id = ?, error = NULL, done_at = ?"
            " WHERE id = ?",
            (channel_message_id, time.time() if now is None else now, message_id),
        )

    async def mark_failed(
        self, message_id: int, error: str, now: float | None = None, status: str = "failed"
    ) -> None:
        await self.store.execute(
            "UPDATE outbox SET status = ?, error = ?, done_at = ? WHERE id = ?",
            (status, error, time.time() if now is None else now, message_id),
        )

    async def retry(self, message_id: int, next_at: float, error: str) -> None:
        await self.store.execute(
            "UPDATE outbox SET status = 'pending', next_at = ?, error = ? WHERE id = ?",
            (next_at, error, message_id),
        )

    async def interrupted(self, now: float | None = None) -> list[Message]:
        """Rows left 'sending' by a process that died: whether the channel took them
        is unknown, so they are not sent again; they become 'unknown' (returned, to
        be reported). Rows another running worker is sending are left to it."""
        now = time.time() if now is None else now
        gone = self.store.gone("claimed_by")
        async with self.store.tx() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'unknown', error = 'interrupted', done_at = ?"
                f" WHERE status = 'sending' AND {gone} RETURNING {_COLUMNS}",
                (now,),
            )
            rows = sorted((_message(r) for r in await cur.fetchall()), key=lambda m: m.id)
        return rows

    async def cards(self, case_id: int) -> list[Message]:
        """The case's cards posted to staff chats and urgent alerts (not edits, not
        failed ones): what is edited when the case moves on."""
        rows = await self.store.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE case_id = ?"  # noqa: S608
            " AND kind IN ('case_post', 'case_urgent', 'case_alert') AND edit_of IS NULL"
            " AND status IN ('pending', 'sending', 'sent') ORDER BY id",
            (case_id,),
        )
        return [_message(r) for r in rows]

    async def superseded(self, row_id: int, edit_of: int) -> bool:
        """Is there a later edit of the same message? (Then this one is not sent.)"""
        row = await self.store.fetchone(
            "SELECT 1 FROM outbox WHERE edit_of = ? AND id > ?"
            " AND status IN ('pending', 'sending', 'sent') LIMIT 1",
            (edit_of, row_id),
        )
        return row is not None

    async def get(self, message_id: int) -> Message | None:
        row = await self.store.fetchone(
            f"SELECT {_COLUMNS} FROM outbox WHERE id = ?",  # noqa: S608
            (message_id,),
        )
        return _message(row) if row else None

    async def messages(self, **where: Any) -> list[Message]:
        """Rows matching column = value (tests, reports)."""
        clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
        rows = await self.store.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE {clause} ORDER BY id",  # noqa: S608
            tuple(where.values()),
        )
        return [_message(r) for r in rows]

    # -- announcements ---------------------------------------------------------------

    async def broadcast_counts(self, broadcast_id: int) -> dict[str, int]:
        """sent, blocked, failed, unknown, cancelled, pending (incl. sending), total."""
        rows = await self.store.fetchall(
            "SELECT status, error, COUNT(*) AS n FROM outbox WHERE broadcast_id = ?"
            " AND kind = 'announcement' GROUP BY status, error",
            (broadcast_id,),
        )
        out = dict.fromkeys(("sent", "blocked", "failed", "unknown", "cancelled", "pending"), 0)
        for r in rows:
            status, n = r["status"], int(r["n"])
            if status == "failed" and r["error"] in ("blocked", "chat_not_found"):
                out["blocked"] += n
            elif status in ("pending", "sending"):
                out["pending"] += n
            else:
                out[status] += n
        out["total"] = sum(out.values())
        return out

    async def cancel_broadcast(self, broadcast_id: int, now: float | None = None) -> int:
        """Stop a run: its rows not yet claimed are cancelled. Returns how many."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "UPDATE outbox SET status = 'cancelled', done_at = ? WHERE broadcast_id = ?"
                " AND status = 'pending' AND kind = 'announcement'",
                (now, broadcast_id),
            )
            await db.execute(
                "UPDATE broadcasts SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL",
                (now, broadcast_id),
            )
            return cur.rowcount

    # -- privacy ---------------------------------------------------------------------

    async def forget(self, user_id: int, case_ids: Iterable[int] = ()) -> int:
        """/forget: messages to or about the resident (and about their requests) go,
        whether sent or not."""
        ids = list(case_ids)
        marks = ", ".join("?" * len(ids))
        sql = "DELETE FROM outbox WHERE user_id = ? OR recipient = ?"
        if ids:
            sql += f" OR case_id IN ({marks})"
        return await self.store.execute(sql, (user_id, user_id, *ids))

    async def purge(self, done_before: float) -> int:
        """Delivered (or given up) messages older than ``done_before``, and messages
        about requests whose personal data was erased."""
        return await self.store.execute(
            "DELETE FROM outbox WHERE (status IN ('sent', 'failed', 'unknown', 'cancelled')"
            " AND done_at < ?) OR (status != 'sending' AND case_id IN"
            " (SELECT id FROM cases WHERE erased_at IS NOT NULL))",
            (done_before,),
        )
