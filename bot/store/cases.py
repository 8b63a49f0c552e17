"""Help requests, their status history and messages.

A case is created exactly once per draft (``draft_id`` is UNIQUE): pressing 确认提交
twice, or the same update delivered twice, returns the case already stored. The
reference number (``SC-YYMM-XXXX``) is drawn from ``secrets`` over an alphabet without
0/O/1/I and is UNIQUE; a collision draws again.

Every status change goes through ``change_status``, a compare-and-set in one
transaction that also writes the history row, so two workers claiming at once leave
one winner and a complete history.
"""

from __future__ import annotations

import builtins  # CaseRepo.list shadows list in the class body
import json
import time
from collections.abc import Iterable
from typing import Any

from bot.domain.cases import (
    ACTOR_KINDS,
    CATEGORIES,
    CONTACT_TIMES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    STATUSES,
    Case,
    Message,
    NewCase,
    StatusChange,
    new_ref,
)
from bot.domain.regions import clean_part, township_ok
from bot.store import Repo, StoreError
from bot.store.case_query import CASE_COLUMNS, CaseQuery


def responsible_township(typed: str | None) -> str | None:
    """The 乡镇/街道 a new case is filed under: the resident's, when it reads as one
    (玉林街道, 某某镇); else none, and the whole 区县 is responsible."""
    name = clean_part(typed or "")
    return name if township_ok(name) else None


MAX_REF_ATTEMPTS = 50
MAX_JSON_CHARS = 20_000


def _dump(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_JSON_CHARS:
        raise StoreError("attachment data too large")
    return text


class CaseRepo(Repo):
    # -- create ---------------------------------------------------------------

    async def create(self, new: NewCase, now: float | None = None) -> tuple[Case, bool]:
        """Store a confirmed request. Returns (case, created); when the draft was
        already submitted, the stored case and False. The commit happens before this
        returns, so the reference number may then be shown."""
        if new.category not in CATEGORIES:
            raise StoreError(f"unknown category {new.category!r}")
        if new.contact_time not in CONTACT_TIMES:
            raise StoreError(f"unknown contact time {new.contact_time!r}")
        now = time.time() if now is None else now
        urgent = bool(new.urgent_by_resident or new.urgent_words)
        async with self.store.tx() as db:
            cur = await db.execute(
                f"SELECT {CASE_COLUMNS} FROM cases WHERE draft_id = ?", (new.draft_id,)
            )
            row = await cur.fetchone()
            if row is not None:
                if row["user_id"] != new.user_id:
                    raise StoreError("draft belongs to another user")
                return Case.from_row(row), False
            for _ in range(MAX_REF_ATTEMPTS):
                ref = new_ref(now)
                cur = await db.execute(
                    "INSERT INTO cases (ref, draft_id, user_id, chat_id, status, category,"
                    " region_city, region_district, region_township, region_village,"
                    " description, phone, contact_time, urgent, urgent_by_resident,"
                    " urgent_words, attachments, target_days, due_at, area_city,"
                    " area_district, area_township, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING RETURNING id",
                    (
                        ref,
                        new.draft_id,
                        new.user_id,
                        new.chat_id,
                        new.category,
                        new.region_city,
                        new.region_district,
                        new.region_township,
                        new.region_village,
                        new.description,
                        new.phone,
                        new.contact_time,
                        int(urgent),
                        int(new.urgent_by_resident),
                        _dump(list(new.urgent_words)),
                        _dump(list(new.attachments)),
                        int(new.target_days),
                        new.due_at,
                        new.region_city,
                        new.region_district,
                        responsible_township(new.region_township),
                        now,
                        now,
                    ),
                )
                inserted = await cur.fetchone()
                if inserted is None:
                    continue  # the random part collided: draw again
                case_id = int(inserted["id"])
                await db.execute(
                    "INSERT INTO case_history (case_id, at, actor_kind, actor_id, from_status,"
                    " to_status) VALUES (?, ?, 'resident', ?, NULL, 'new')",
                    (case_id, now, new.user_id),
                )
                cur = await db.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
                return Case.from_row(await cur.fetchone()), True
            raise StoreError("could not draw a free reference number")

    # -- read -----------------------------------------------------------------

    async def get(self, case_id: int) -> Case | None:
        row = await self.store.fetchone(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,)
        )
        return Case.from_row(row) if row else None

    async def get_by_ref(self, ref: str) -> Case | None:
        row = await self.store.fetchone(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE ref = ?", (ref.strip().upper(),)
        )
        return Case.from_row(row) if row else None

    async def get_by_draft(self, draft_id: str) -> Case | None:
        row = await self.store.fetchone(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE draft_id = ?", (draft_id,)
        )
        return Case.from_row(row) if row else None

    async def get_for_user(self, case_id: int, user_id: int) -> Case | None:
        """The case only when it belongs to this resident (ownership checked here)."""
        row = await self.store.fetchone(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ? AND user_id = ?",
            (case_id, user_id),
        )
        return Case.from_row(row) if row else None

    async def for_user(self, user_id: int, limit: int = 20) -> list[Case]:
        rows = await self.store.fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE user_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [Case.from_row(r) for r in rows]

    async def list(
        self,
        status: str | Iterable[str] | None = None,
        city: str | None = None,
        district: str | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Cases, newest first, optionally by status(es) and responsible area."""
        query = CaseQuery().statuses(status).area(city, district)
        return await query.fetch(self.store, "created_at DESC, id DESC", limit)

    async def history(self, case_id: int) -> builtins.list[StatusChange]:
        rows = await self.store.fetchall(
            "SELECT id, case_id, at, actor_kind, actor_id, from_status, to_status, note"
            " FROM case_history WHERE case_id = ? ORDER BY at, id",
            (case_id,),
        )
        return [StatusChange(**dict(r)) for r in rows]

    async def messages(self, case_id: int, include_private: bool = False) -> builtins.list[Message]:
        sql = (
            "SELECT id, case_id, at, author_kind, author_id, body, private"
            " FROM case_messages WHERE case_id = ?"
        )
        if not include_private:
            sql += " AND private = 0"
        rows = await self.store.fetchall(sql + " ORDER BY at, id", (case_id,))
        return [Message(**{**dict(r), "private": bool(r["private"])}) for r in rows]

    async def count(self) -> int:
        return int(await self.store.fetchval("SELECT COUNT(*) FROM cases"))

    async def last_staff_reply(self, user_id: int) -> tuple[Case, int] | None:
        """The resident's open request a worker last wrote to (a message the resident
        sees), and that message's id; None when no worker wrote on an open request."""
        marks = ", ".join("?" * len(OPEN_STATUSES))
        row = await self.store.fetchone(
            "SELECT m.case_id, m.id FROM case_messages m JOIN cases c ON c.id = m.case_id"
            " WHERE c.user_id = ? AND m.author_kind = 'staff' AND m.private = 0"
            f" AND c.status IN ({marks}) ORDER BY m.at DESC, m.id DESC LIMIT 1",  # noqa: S608 - placeholders only
            (user_id, *OPEN_STATUSES),
        )
        if row is None:
            return None
        case = await self.get_for_user(int(row["case_id"]), user_id)
        return (case, int(row["id"])) if case is not None else None

    async def retract_message(self, message_id: int, case_id: int, user_id: int) -> bool:
        """The resident takes back a message of theirs (its text is erased, the row
        stays so the history shows that something was taken back)."""
        async with self.store.tx() as db:
            cur = await db.execute(
                "UPDATE case_messages SET body = NULL WHERE id = ? AND case_id = ?"
                " AND author_kind = 'resident' AND author_id = ? AND body IS NOT NULL",
                (message_id, case_id, user_id),
            )
            return bool(cur.rowcount)

    # -- change ---------------------------------------------------------------

    async def add_message(
        self,
        case_id: int,
        author_kind: str,
        author_id: int | None,
        body: str,
        private: bool = False,
        only_if_open: bool = True,
        now: float | None = None,
    ) -> Message | None:
        """Add a message; None when the case is gone or (``only_if_open``) no longer open."""
        if author_kind not in ACTOR_KINDS:
            raise StoreError(f"unknown author kind {author_kind!r}")
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute("SELECT status FROM cases WHERE id = ?", (case_id,))
            row = await cur.fetchone()
            if row is None or (only_if_open and row["status"] not in OPEN_STATUSES):
                return None
            cur = await db.execute(
                "INSERT INTO case_messages (case_id, at, author_kind, author_id, body, private)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (case_id, now, author_kind, author_id, body, int(private)),
            )
            message_id = int((await cur.fetchone())["id"])
            await db.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now, case_id))
            return Message(message_id, case_id, now, author_kind, author_id, body, private)

    async def change_status(
        self,
        case_id: int,
        to_status: str,
        actor_kind: str,
        actor_id: int | None,
        note: str | None = None,
        expect_from: Iterable[str] | None = None,
        set_fields: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> Case | None:
        """Move a case to ``to_status`` if its current status is in ``expect_from``
        (any status when None), recording who, when, from, to and the note. Returns
        the updated case, or None when the case is gone or its status did not match
        (someone else changed it first). ``set_fields`` may set assignee_id,
        area_city, area_district or due_at in the same transaction."""
        if to_status not in STATUSES:
            raise StoreError(f"unknown status {to_status!r}")
        if actor_kind not in ACTOR_KINDS:
            raise StoreError(f"unknown actor kind {actor_kind!r}")
        allowed = {"assignee_id", "area_city", "area_district", "due_at", "target_days"}
        extra = dict(set_fields or {})
        if set(extra) - allowed:
            raise StoreError(f"cannot set {sorted(set(extra) - allowed)}")
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute("SELECT status FROM cases WHERE id = ?", (case_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            current = row["status"]
            if expect_from is not None and current not in set(expect_from):
                return None
            closed = now if to_status in FINAL_STATUSES else None
            assignments = ["status = ?", "updated_at = ?", "closed_at = ?"]
            params: list[Any] = [to_status, now, closed]
            for key, value in extra.items():
                assignments.append(f"{key} = ?")
                params.append(value)
            await db.execute(
                f"UPDATE cases SET {', '.join(assignments)} WHERE id = ?", (*params, case_id)
            )
            await db.execute(
                "INSERT INTO case_history (case_id, at, actor_kind, actor_id, from_status,"
                " to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, now, actor_kind, actor_id, current, to_status, note),
            )
            cur = await db.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
            return Case.from_row(await cur.fetchone())

    # -- erase ----------------------------------------------------------------

    async def erase_personal(self, case_ids: Iterable[int], now: float | None = None) -> int:
        """Erase contact details and every free text of these cases: phone, typed place
        names, description, contact time, flagged words, attachments, message bodies and
        history notes. Category, 市州/区县, dates and status stay for statistics."""
        ids = [int(i) for i in case_ids]
        if not ids:
            return 0
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            return await _erase(db, ids, now, unlink=False)

    async def forget_user(self, user_id: int, now: float | None = None) -> int:
        """/forget, in one transaction: withdraw the resident's open requests (nobody
        could contact them any more), erase the personal data of all their requests and
        unlink them from the resident. Returns the number of requests erased."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute("SELECT id, status FROM cases WHERE user_id = ?", (user_id,))
            rows = list(await cur.fetchall())
            for row in rows:
                if row["status"] in OPEN_STATUSES:
                    await db.execute(
                        "UPDATE cases SET status = 'withdrawn', closed_at = ?, updated_at = ?"
                        " WHERE id = ?",
                        (now, now, row["id"]),
                    )
                    await db.execute(
                        "INSERT INTO case_history (case_id, at, actor_kind, actor_id,"
                        " from_status, to_status, note) VALUES (?, ?, 'system', NULL, ?,"
                        " 'withdrawn', NULL)",
                        (row["id"], now, row["status"]),
                    )
            return await _erase(db, [r["id"] for r in rows], now, unlink=True)

    async def closed_before(self, before: float) -> builtins.list[int]:
        """Ids of cases closed before ``before`` whose personal data is still there
        (for the retention job)."""
        rows = await self.store.fetchall(
            "SELECT id FROM cases WHERE closed_at IS NOT NULL AND closed_at < ?"
            " AND erased_at IS NULL",
            (before,),
        )
        return [r["id"] for r in rows]


async def _erase(db: Any, ids: list[int], now: float, unlink: bool) -> int:
    if not ids:
        return 0
    marks = ", ".join("?" * len(ids))
    unlink_sql = ", user_id = NULL" if unlink else ""
    cur = await db.execute(
        "UPDATE cases SET phone = NULL, region_township = NULL, area_township = NULL, region_village = NULL,"
        " description = NULL, contact_time = NULL, urgent_words = '[]', attachments = '[]',"
        f" chat_id = NULL, erased_at = ?, updated_at = ?{unlink_sql} WHERE id IN ({marks})",
        (now, now, *ids),
    )
    await db.execute(f"UPDATE case_messages SET body = NULL WHERE case_id IN ({marks})", ids)
    await db.execute(f"UPDATE case_history SET note = NULL WHERE case_id IN ({marks})", ids)
    if unlink:
        for table in ("case_messages", "case_history"):
            column = "author" if table == "case_messages" else "actor"
            await db.execute(
                f"UPDATE {table} SET {column}_id = NULL"
                f" WHERE {column}_kind = 'resident' AND case_id IN ({marks})",
                ids,
            )
    return cur.rowcount
