"""The staff workflow over the cases tables: claim, notes, replies, transfer, expected
date, resolve, reopen, invalid, 回访 ratings, reminders already sent, retention.

Every change is one transaction that checks the current status (compare-and-set) and
writes the status-history row, so two workers pressing 认领 at once leave exactly one
assignee and a complete history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.domain.cases import ACTOR_KINDS, FINAL_STATUSES, STATUSES, UNCLAIMED, Case
from bot.domain.regions import Area
from bot.store import Repo, StoreError
from bot.store.case_query import CASE_COLUMNS, CaseQuery
from bot.store.outbox import Outgoing
from bot.store.outbox import insert as outbox_insert

# The messages a change causes, built from the case as it is after the change and
# queued in the outbox in the change's own transaction (both happen, or neither).
Notices = Callable[[Case], list[Outgoing]]

MAX_SEARCH_CHARS = 50

# Columns a transition may set besides status / updated_at / closed_at.
_SETTABLE = {
    "assignee_id",
    "area_city",
    "area_district",
    "area_township",
    "from_city",
    "from_district",
    "from_township",
    "transferred_by",
    "due_at",
    "target_days",
    "claimed_at",
    "first_claimed_at",
    "resolved_at",
    "expected_date",
    "rating",
    "rating_comment",
    "rated_at",
    "first_rating",
    "first_rated_at",
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class WorkflowRepo(Repo):
    # -- read -----------------------------------------------------------------

    async def get(self, case_id: int) -> Case | None:
        return await self.store.cases.get(case_id)

    async def get_by_ref(self, ref: str) -> Case | None:
        return await self.store.cases.get_by_ref(ref)

    async def select(
        self,
        statuses: Iterable[str] | None = None,
        city: str | None = None,
        district: str | None = None,
        assignee_id: int | None = None,
        due_before: float | None = None,
        limit: int | None = None,
        oldest_first: bool = True,
        covered_by: Area | None = None,
    ) -> list[Case]:
        """Cases by status, responsible area (``city``/``district``: that area and
        below; ``covered_by``: what a worker of that area covers), assignee and
        deadline."""
        query = CaseQuery().statuses(statuses).area(city, district)
        if covered_by is not None:
            query.covered_by(covered_by.city, covered_by.district, covered_by.township)
        if assignee_id is not None:
            query.add("assignee_id = ?", assignee_id)
        if due_before is not None:
            query.add("due_at IS NOT NULL AND due_at < ?", due_before)
        order = "ASC" if oldest_first else "DESC"
        return await query.fetch(self.store, f"urgent DESC, created_at {order}, id {order}", limit)

    async def search(
        self,
        text: str,
        city: str | None = None,
        district: str | None = None,
        limit: int = 20,
        covered_by: Area | None = None,
    ) -> list[Case]:
        """Cases whose reference, description, phone or typed place contains ``text``
        (personal data already erased is not searched), newest first."""
        text = text.strip()[:MAX_SEARCH_CHARS]
        if not text:
            return []
        pattern = _like(text)
        query = CaseQuery().add(
            "(ref = ? OR description LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\'"
            " OR region_township LIKE ? ESCAPE '\\' OR region_village LIKE ? ESCAPE '\\')",
            text.upper(),
            pattern,
            pattern,
            pattern,
            pattern,
        )
        query.area(city, district)
        if covered_by is not None:
            query.covered_by(covered_by.city, covered_by.district, covered_by.township)
        return await query.fetch(self.store, "created_at DESC, id DESC", limit)

    async def all_cases(self) -> list[Case]:
        rows = await self.store.fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases ORDER BY created_at, id"
        )
        return [Case.from_row(r) for r in rows]

    async def created_between(
        self,
        start: float | None,
        end: float | None,
        city: str | None = None,
        district: str | None = None,
    ) -> list[Case]:
        """Cases filed in [start, end) (None: open) that an area (city, district) is
        responsible for, oldest first (the report)."""
        query = CaseQuery().area(city, district)
        if start is not None:
            query.add("created_at >= ?", float(start))
        if end is not None:
            query.add("created_at < ?", float(end))
        return await query.fetch(self.store, "created_at, id", None)

    async def resolved_before(self, before: float) -> list[Case]:
        """Resolved cases waiting for a rating since before ``before``."""
        rows = await self.store.fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE status = 'resolved' AND resolved_at < ?"
            " ORDER BY resolved_at",
            (before,),
        )
        return [Case.from_row(r) for r in rows]

    # -- change ---------------------------------------------------------------

    async def claim(
        self, case_id: int, worker_id: int, now: float | None = None, notices: Notices | None = None
    ) -> tuple[Case | None, Case | None]:
        """Take an unclaimed case. Returns (the case, None) for the winner, and
        (None, the case as it is now) when someone else was first or it is no longer
        waiting; (None, None) when there is no such case."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute("SELECT status FROM cases WHERE id = ?", (case_id,))
            row = await cur.fetchone()
            won = False
            before = row["status"] if row is not None else None
            if before in UNCLAIMED:
                cur = await db.execute(
                    "UPDATE cases SET status = 'claimed', assignee_id = ?, claimed_at = ?,"
                    " first_claimed_at = COALESCE(first_claimed_at, ?), updated_at = ?,"
                    " closed_at = NULL"
                    f" WHERE id = ? AND status IN ({', '.join('?' * len(UNCLAIMED))})",
                    (worker_id, now, now, now, case_id, *UNCLAIMED),
                )
                won = cur.rowcount == 1
            if won:
                await db.execute(
                    "INSERT INTO case_history (case_id, at, actor_kind, actor_id, from_status,"
                    " to_status) VALUES (?, ?, 'staff', ?, ?, 'claimed')",
                    (case_id, now, worker_id, before),
                )
            cur = await db.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
            row = await cur.fetchone()
            case = Case.from_row(row) if row else None
            if won and case is not None and notices is not None:
                await outbox_insert(db, notices(case), now)
        return (case, None) if won else (None, case)

    async def transition(
        self,
        case_id: int,
        to_status: str,
        actor_kind: str,
        actor_id: int | None,
        *,
        expect_from: Iterable[str],
        expect_assignee: int | None = None,
        note: str | None = None,
        set_fields: dict[str, Any] | None = None,
        message: str | None = None,
        private: bool = False,
        reopen: bool = False,
        history: bool = True,
        now: float | None = None,
        notices: Notices | None = None,
    ) -> Case | None:
        """Move a case to ``to_status`` when its status is in ``expect_from`` (and,
        with ``expect_assignee``, it is still that worker's), writing the history row
        (who, when, from, to, note) and optionally a message, all in one transaction.
        With ``history`` False a change that keeps the status writes no history row
        (a reply: the message itself is the record). ``notices`` (built from the
        changed case) are queued in the outbox in the same transaction. None when
        nothing matched."""
        if to_status not in STATUSES:
            raise StoreError(f"unknown status {to_status!r}")
        if actor_kind not in ACTOR_KINDS:
            raise StoreError(f"unknown actor kind {actor_kind!r}")
        extra = dict(set_fields or {})
        if set(extra) - _SETTABLE:
            raise StoreError(f"cannot set {sorted(set(extra) - _SETTABLE)}")
        expect = list(expect_from)
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT status, assignee_id, closed_at FROM cases WHERE id = ?", (case_id,)
            )
            row = await cur.fetchone()
            if row is None or row["status"] not in expect:
                return None
            if expect_assignee is not None and row["assignee_id"] != expect_assignee:
                return None
            current = row["status"]
            if to_status not in FINAL_STATUSES:
                closed = None
            elif current != to_status or row["closed_at"] is None:
                closed = now
            else:
                closed = row["closed_at"]
            assignments = ["status = ?", "updated_at = ?", "closed_at = ?"]
            params: list[Any] = [to_status, now, closed]
            for key, value in extra.items():
                assignments.append(f"{key} = ?")
                params.append(value)
            if reopen:
                assignments.append("reopen_count = reopen_count + 1")
            await db.execute(
                f"UPDATE cases SET {', '.join(assignments)} WHERE id = ?", (*params, case_id)
            )
            if history or current != to_status:
                await db.execute(
                    "INSERT INTO case_history (case_id, at, actor_kind, actor_id, from_status,"
                    " to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (case_id, now, actor_kind, actor_id, current, to_status, note),
                )
            if message is not None:
                await db.execute(
                    "INSERT INTO case_messages (case_id, at, author_kind, author_id, body,"
                    " private) VALUES (?, ?, ?, ?, ?, ?)",
                    (case_id, now, actor_kind, actor_id, message, int(private)),
                )
            cur = await db.execute(f"SELECT {CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,))
            case = Case.from_row(await cur.fetchone())
            if notices is not None:
                await outbox_insert(db, notices(case), now)
            return case

    async def add_note(
        self, case_id: int, author_id: int, body: str, now: float | None = None
    ) -> bool:
        """A private staff note (never shown to the resident). False when the case is
        gone or its personal data already erased."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute("SELECT erased_at FROM cases WHERE id = ?", (case_id,))
            row = await cur.fetchone()
            if row is None or row["erased_at"] is not None:
                return False
            await db.execute(
                "INSERT INTO case_messages (case_id, at, author_kind, author_id, body, private)"
                " VALUES (?, ?, 'staff', ?, ?, 1)",
                (case_id, now, author_id, body),
            )
            await db.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now, case_id))
            return True

    async def involved(self, case_id: int, user_id: int) -> bool:
        """Did this staff member act on the case (claim, transfer, ...)? The sender of
        a transfer keeps read access to the case this way."""
        row = await self.store.fetchone(
            "SELECT 1 FROM case_history WHERE case_id = ? AND actor_kind = 'staff'"
            " AND actor_id = ? LIMIT 1",
            (case_id, user_id),
        )
        return row is not None

    async def log_event(
        self, case_id: int, note: str, actor_kind: str = "system", now: float | None = None
    ) -> bool:
        """A line in the case's history that changes nothing (e.g. a message the
        resident did not receive): from and to the current status."""
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "INSERT INTO case_history (case_id, at, actor_kind, actor_id, from_status,"
            " to_status, note) SELECT id, ?, ?, NULL, status, status, ? FROM cases"
            " WHERE id = ? AND erased_at IS NULL",
            (now, actor_kind, note, case_id),
        )
        return changed == 1

    async def set_deadline(self, case_id: int, target_days: int, due_at: float) -> bool:
        """Set the working-day target and the deadline (holidays counted) of a case."""
        changed = await self.store.execute(
            "UPDATE cases SET target_days = ?, due_at = ? WHERE id = ?",
            (int(target_days), float(due_at), case_id),
        )
        return changed == 1

    async def set_rating_comment(
        self, case_id: int, user_id: int, comment: str, now: float | None = None
    ) -> bool:
        """The resident's comment on a rating they gave (only theirs, only once rated)."""
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "UPDATE cases SET rating_comment = ?, updated_at = ?"
            " WHERE id = ? AND user_id = ? AND rating IS NOT NULL AND erased_at IS NULL",
            (comment, now, case_id, user_id),
        )
        return changed == 1

    async def forget_user(self, user_id: int) -> int:
        """/forget: the workflow's own personal text (rating comments) of a resident,
        and of every request already erased (the help-request feature unlinks the
        resident from their requests before this runs)."""
        return await self.store.execute(
            "UPDATE cases SET rating_comment = NULL WHERE rating_comment IS NOT NULL"
            " AND (user_id = ? OR erased_at IS NOT NULL)",
            (user_id,),
        )

    # -- notices already sent -------------------------------------------------

    async def mark_notice(
        self, case_id: int, kind: str, key: str = "", now: float | None = None
    ) -> bool:
        """Record that a notice went out; False when it had been recorded already."""
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "INSERT INTO case_notices (case_id, kind, key, sent_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (case_id, kind, key, now),
        )
        return changed == 1

    async def notice_once(
        self,
        case_id: int,
        kind: str,
        key: str,
        messages: list[Outgoing],
        now: float | None = None,
    ) -> bool:
        """Record a notice and queue its messages in the outbox, in one transaction
        (recorded and queued, or neither); False when it had been recorded already."""
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "INSERT INTO case_notices (case_id, kind, key, sent_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (case_id, kind, key, now),
            )
            if cur.rowcount != 1:
                return False
            await outbox_insert(db, messages, now)
        return True

    async def has_notice(self, case_id: int, kind: str, key: str = "") -> bool:
        row = await self.store.fetchone(
            "SELECT 1 FROM case_notices WHERE case_id = ? AND kind = ? AND key = ?",
            (case_id, kind, key),
        )
        return row is not None

    async def unposted(self, created_before: float) -> list[Case]:
        """Waiting cases that were never posted to a staff chat (a missed hook, a
        crash between the commit and the post)."""
        rows = await self.store.fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE status IN ('new', 'transferred')"
            " AND created_at < ? AND NOT EXISTS (SELECT 1 FROM case_notices n"
            " WHERE n.case_id = cases.id AND n.kind = 'posted') ORDER BY created_at, id",
            (created_before,),
        )
        return [Case.from_row(r) for r in rows]

    # -- retention ------------------------------------------------------------

    async def purge_closed(self, before: float, now: float | None = None) -> int:
        """Erase the personal data of cases closed before ``before``: phone, typed
        places, description, contact time, attachments, flagged words, message
        bodies, history notes and rating comments. Category, area, dates, status and
        rating stay for statistics. Returns the number of cases erased."""
        now = time.time() if now is None else now
        closed = ", ".join("?" * 3)
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT id FROM cases WHERE erased_at IS NULL AND closed_at IS NOT NULL"
                f" AND closed_at < ? AND status IN ({closed})",
                (before, "closed", "withdrawn", "invalid"),
            )
            ids = [r["id"] for r in await cur.fetchall()]
            if ids:
                marks = ", ".join("?" * len(ids))
                await db.execute(
                    "UPDATE cases SET phone = NULL, region_township = NULL, area_township = NULL,"
                    " region_village = NULL, description = NULL, contact_time = NULL,"
                    " urgent_words = '[]', attachments = '[]', chat_id = NULL,"
                    f" rating_comment = NULL, erased_at = ? WHERE id IN ({marks})",
                    (now, *ids),
                )
                await db.execute(
                    f"UPDATE case_messages SET body = NULL WHERE case_id IN ({marks})", ids
                )
                await db.execute(
                    f"UPDATE case_history SET note = NULL WHERE case_id IN ({marks})", ids
                )
            # Cases erased elsewhere (/forget) lose their rating comment too.
            await db.execute(
                "UPDATE cases SET rating_comment = NULL"
                " WHERE erased_at IS NOT NULL AND rating_comment IS NOT NULL"
            )
        return len(ids)
