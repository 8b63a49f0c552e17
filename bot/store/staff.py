"""Staff roles, areas, invite codes and the audit log.

Admins named in the configuration are admins without a row here (bootstrap); everyone
else with a staff role joined with a single-use invite code. Redeeming a code is one
compare-and-set, so a code shared by mistake makes one member, not two.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.domain.regions import Area
from bot.store import IntegrityError, Repo, StoreError

__all__ = ["Area", "Invite", "StaffMember", "StaffRepo"]

ROLES = ("worker", "admin")
# "operator": someone at the server using the terminal tools (sanliang cases ...).
ACTOR_ROLES = ("resident", "worker", "admin", "system", "operator")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/I
CODE_CHARS = 8
MAX_CODE_ATTEMPTS = 20
MAX_DETAIL_CHARS = 200


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    role: str
    area: Area
    name: str | None = None
    active: bool = True
    joined_at: float = 0.0
    from_config: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        """How colleagues see this member: the chosen 称呼, else the id."""
        return self.name or f"#{self.user_id}"


@dataclass(frozen=True)
class Invite:
    code: str
    role: str
    area: Area
    created_by: int
    created_at: float
    expires_at: float
    used_by: int | None
    used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor_id: int | None
    actor_role: str
    action: str
    case_id: int | None
    allowed: bool
    detail: str | None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_CHARS))


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())[:32]


def _member(row: Any) -> StaffMember:
    return StaffMember(
        user_id=row["user_id"],
        role=row["role"],
        area=Area(row["area_city"], row["area_district"], row["area_township"]),
        name=row["name"],
        active=bool(row["active"]),
        joined_at=row["joined_at"],
    )


def _invite(row: Any) -> Invite:
    return Invite(
        code=row["code"],
        role=row["role"],
        area=Area(row["area_city"], row["area_district"], row["area_township"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_by=row["used_by"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


_MEMBER_COLUMNS = "user_id, role, area_city, area_district, area_township, name, active, joined_at"


class StaffRepo(Repo):
    # -- members --------------------------------------------------------------

    async def member(self, user_id: int) -> StaffMember | None:
        """The active staff member with this id, or None."""
        row = await self.store.fetchone(
            f"SELECT {_MEMBER_COLUMNS} FROM staff_members WHERE user_id = ? AND active = 1",
            (user_id,),
        )
        return _member(row) if row else None

    async def members(self, include_revoked: bool = False) -> list[StaffMember]:
        sql = f"SELECT {_MEMBER_COLUMNS} FROM staff_members"
        if not include_revoked:
            sql += " WHERE active = 1"
        rows = await self.store.fetchall(sql + " ORDER BY role, area_city, area_district, user_id")
        return [_member(r) for r in rows]

    async def workers_covering(
        self, city: str | None, district: str | None, township: str | None = None
    ) -> list[StaffMember]:
        """Active workers (not admins) whose area covers a case of this area
        (``Area.covers``: the area and below it, and above it on its own line)."""
        rows = await self.store.fetchall(
            f"SELECT {_MEMBER_COLUMNS} FROM staff_members WHERE active = 1 AND role = 'worker'"
            " AND (area_city IS NULL OR area_city = ?) ORDER BY user_id",
            (city,),
        )
        members = [_member(r) for r in rows]
        return [m for m in members if m.area.covers(city, district, township)]

    async def townships(self, city: str, district: str) -> list[str]:
        """The 乡镇/街道 of a 区县 that have an active worker (transfer targets)."""
        rows = await self.store.fetchall(
            "SELECT DISTINCT area_township FROM staff_members WHERE active = 1"
            " AND area_city = ? AND area_district = ? AND area_township IS NOT NULL"
            " ORDER BY area_township",
            (city, district),
        )
        return [str(r["area_township"]) for r in rows]

    async def admins(self) -> list[int]:
        """User ids of active admins invited through the assistant (config admins aside)."""
        rows = await self.store.fetchall(
            "SELECT user_id FROM staff_members WHERE active = 1 AND role = 'admin' ORDER BY user_id"
        )
        return [int(r["user_id"]) for r in rows]

    async def set_name(self, user_id: int, name: str) -> bool:
        changed = await self.store.execute(
            "UPDATE staff_members SET name = ? WHERE user_id = ? AND active = 1", (name, user_id)
        )
        return changed == 1

    async def revoke(self, user_id: int, by: int, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        changed = await self.store.execute(
            "UPDATE staff_members SET active = 0, revoked_at = ?, revoked_by = ?"
            " WHERE user_id = ? AND active = 1",
            (now, by, user_id),
        )
        return changed == 1

    # -- invites --------------------------------------------------------------

    async def create_invite(
        self, role: str, area: Area, created_by: int, ttl_seconds: float, now: float | None = None
    ) -> Invite:
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}")
        now = time.time() if now is None else now
        for _ in range(MAX_CODE_ATTEMPTS):
            code = new_code()
            try:
                await self.store.execute(
                    "INSERT INTO staff_invites (code, role, area_city, area_district,"
                    " area_township, created_by, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        code,
                        role,
                        area.city,
                        area.district,
                        area.township,
                        created_by,
                        now,
                        now + ttl_seconds,
                    ),
                )
            except IntegrityError:
                continue
            invite = await self.invite(code)
            assert invite is not None
            return invite
        raise StoreError("could not draw a free invite code")

    async def invite(self, code: str) -> Invite | None:
        row = await self.store.fetchone(
            "SELECT * FROM staff_invites WHERE code = ?", (normalize_code(code),)
        )
        return _invite(row) if row else None

    async def redeem(
        self, code: str, user_id: int, name: str | None = None, now: float | None = None
    ) -> tuple[StaffMember | None, str]:
        """Use an invite code. Returns (member, "ok") or (None, why): "unknown",
        "used", "expired" or "revoked". The code is spent and the member made (or
        their role and area replaced) in one transaction."""
        now = time.time() if now is None else now
        code = normalize_code(code)
        async with self.store.tx() as db:
            cur = await db.execute("SELECT * FROM staff_invites WHERE code = ?", (code,))
            row = await cur.fetchone()
            if row is None:
                return None, "unknown"
            if row["revoked_at"] is not None:
                return None, "revoked"
            if row["used_by"] is not None:
                return None, "used"
            if row["expires_at"] <= now:
                return None, "expired"
            cur = await db.execute(
                "UPDATE staff_invites SET used_by = ?, used_at = ?"
                " WHERE code = ? AND used_by IS NULL",
                (user_id, now, code),
            )
            if cur.rowcount != 1:
                return None, "used"
            await db.execute(
                "INSERT INTO staff_members (user_id, role, area_city, area_district,"
                " area_township, name, active, invited_by, joined_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET role = excluded.role,"
                " area_city = excluded.area_city, area_district = excluded.area_district,"
                " area_township = excluded.area_township,"
                " name = COALESCE(excluded.name, staff_members.name), active = 1,"
                " invited_by = excluded.invited_by, joined_at = excluded.joined_at,"
                " revoked_at = NULL, revoked_by = NULL",
                (
                    user_id,
                    row["role"],
                    row["area_city"],
                    row["area_district"],
                    row["area_township"],
                    name,
                    row["created_by"],
                    now,
                ),
            )
            cur = await db.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM staff_members WHERE user_id = ?", (user_id,)
            )
            return _member(await cur.fetchone()), "ok"

    # -- audit log ------------------------------------------------------------

    async def audit(
        self,
        actor_id: int | None,
        actor_role: str,
        action: str,
        case_id: int | None = None,
        allowed: bool = True,
        detail: str | None = None,
        now: float | None = None,
    ) -> None:
        """Record who did or tried what. ``detail`` must never carry personal data."""
        if actor_role not in ACTOR_ROLES:
            raise StoreError(f"unknown actor role {actor_role!r}")
        now = time.time() if now is None else now
        await self.store.execute(
            "INSERT INTO audit_log (at, actor_id, actor_role, action, case_id, allowed, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                now,
                actor_id,
                actor_role,
                action[:40],
                case_id,
                int(allowed),
                (detail or None) and detail[:MAX_DETAIL_CHARS],
            ),
        )

    async def audit_entries(
        self,
        case_id: int | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        allowed: bool | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        where, params = [], []
        for column, value in (("case_id", case_id), ("actor_id", actor_id), ("action", action)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if allowed is not None:
            where.append("allowed = ?")
            params.append(int(allowed))
        sql = "SELECT id, at, actor_id, actor_role, action, case_id, allowed, detail FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(int(limit))
        rows = await self.store.fetchall(sql, params)
        return [AuditEntry(**{**dict(r), "allowed": bool(r["allowed"])}) for r in rows]
