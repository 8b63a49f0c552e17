"""Supervision's tables (migration 0012): area leads, requests waiting for a second
person (延期, a checked 无法受理) and the phone contacts logged on a case."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store import Repo

REQUEST_KINDS = ("extend", "invalid")
CONTACT_OUTCOMES = ("reached", "no_answer", "wrong_number", "call_back")


@dataclass(frozen=True)
class CaseRequest:
    id: int
    case_id: int
    kind: str
    requested_by: int
    requested_at: float
    reason: str | None
    days: int | None
    status: str
    decided_by: int | None
    decided_at: float | None


@dataclass(frozen=True)
class Contact:
    id: int
    case_id: int
    at: float
    logged_at: float
    staff_id: int
    outcome: str


_REQUEST_COLUMNS = (
    "id, case_id, kind, requested_by, requested_at, reason, days, status, decided_by, decided_at"
)


def _request(row: Any) -> CaseRequest:
    return CaseRequest(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite rows


class SupervisionRepo(Repo):
    # -- area leads -----------------------------------------------------------------

    async def set_lead(self, user_id: int, lead: bool, by: int, now: float | None = None) -> bool:
        """Make an active worker a lead of their area (or not). False when nothing changed."""
        now = time.time() if now is None else now
        if not lead:
            return (
                await self.store.execute("DELETE FROM staff_leads WHERE user_id = ?", (user_id,))
                == 1
            )
        return (
            await self.store.execute(
                "INSERT INTO staff_leads (user_id, granted_by, granted_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, by, now),
            )
            == 1
        )

    async def leads(self) -> set[int]:
        """User ids of leads who are active workers."""
        rows = await self.store.fetchall(
            "SELECT l.user_id FROM staff_leads l JOIN staff_members m ON m.user_id = l.user_id"
            " WHERE m.active = 1 AND m.role = 'worker'"
        )
        return {int(r["user_id"]) for r in rows}

    # -- requests waiting for a second person -----------------------------------------

    async def open_request(
        self,
        case_id: int,
        kind: str,
        by: int,
        reason: str,
        days: int | None = None,
        now: float | None = None,
    ) -> CaseRequest | None:
        """A new pending request; None when one of this kind is pending already."""
        if kind not in REQUEST_KINDS:
            raise ValueError(kind)
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT id FROM case_requests WHERE case_id = ? AND kind = ? AND status = 'pending'",
                (case_id, kind),
            )
            if await cur.fetchone() is not None:
                return None
            cur = await db.execute(
                "INSERT INTO case_requests (case_id, kind, requested_by, requested_at, reason,"
                f" days) VALUES (?, ?, ?, ?, ?, ?) RETURNING {_REQUEST_COLUMNS}",
                (case_id, kind, by, now, reason, days),
            )
            return _request(await cur.fetchone())

    async def request(self, request_id: int) -> CaseRequest | None:
        row = await self.store.fetchone(
            f"SELECT {_REQUEST_COLUMNS} FROM case_requests WHERE id = ?", (request_id,)
        )
        return _request(row) if row else None

    async def pending(self, case_id: int) -> list[CaseRequest]:
        rows = await self.store.fetchall(
            f"SELECT {_REQUEST_COLUMNS} FROM case_requests WHERE case_id = ? AND status = 'pending'"
            " ORDER BY id",
            (case_id,),
        )
        return [_request(r) for r in rows]

    async def decide(self, request_id: int, status: str, by: int, now: float | None = None) -> bool:
        """pending -> approved | refused | void, once (compare-and-set)."""
        if status not in ("approved", "refused", "void"):
            raise ValueError(status)
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "UPDATE case_requests SET status = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (status, by, now, request_id),
        )
        return changed == 1

    # -- 联系记录 ------------------------------------------------------------------------

    async def add_contact(
        self, case_id: int, staff_id: int, outcome: str, at: float, now: float | None = None
    ) -> Contact:
        if outcome not in CONTACT_OUTCOMES:
            raise ValueError(outcome)
        now = time.time() if now is None else now
        async with self.store.tx() as db:
            cur = await db.execute(
                "INSERT INTO case_contacts (case_id, at, logged_at, staff_id, outcome)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id, case_id, at, logged_at, staff_id, outcome",
                (case_id, at, now, staff_id, outcome),
            )
            row = await cur.fetchone()
            assert row is not None  # RETURNING after an INSERT
            await db.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (now, case_id))
        return Contact(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite rows

    async def contacts(self, case_id: int) -> list[Contact]:
        rows = await self.store.fetchall(
            "SELECT id, case_id, at, logged_at, staff_id, outcome FROM case_contacts"
            " WHERE case_id = ? ORDER BY at, id",
            (case_id,),
        )
        return [Contact(**{k: r[k] for k in r.keys()}) for r in rows]  # noqa: SIM118

    # -- retention --------------------------------------------------------------------

    async def purge_erased(self) -> int:
        """Reasons of requests whose case's personal data is erased."""
        return await self.store.execute(
            "UPDATE case_requests SET reason = NULL WHERE reason IS NOT NULL"
            " AND case_id IN (SELECT id FROM cases WHERE erased_at IS NOT NULL)"
        )
