"""Who may do what with a case: the actor behind a user id, and the rules (area,
assignee, admin) every staff action checks, from the store, on every call. Nothing a
button payload says about a case or a role is trusted. Every refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.dialog.events import Reply
from bot.domain.cases import UNCLAIMED, Case
from bot.domain.regions import Area
from bot.store.staff import StaffMember

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.staff.settings import StaffSettings
    from bot.store import Store


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str  # resident | worker | admin
    member: StaffMember | None = None
    area: Area = field(default_factory=Area)

    @property
    def is_staff(self) -> bool:
        return self.role in ("worker", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.member.label if self.member else f"#{self.user_id}"


@dataclass
class Outcome:
    ok: bool
    case: Case | None = None
    reason: str = ""  # forbidden | missing | state | taken | invalid
    notices: list[Reply] = field(default_factory=list)
    holder: str | None = None  # who has the case, when a claim lost
    kind: str = ""  # what was done, when it is not the action itself (staff/done)
    told: bool = False  # the resident's notice was queued with the change itself


class ServiceBase:
    """What the parts of the staff service share (set by ``StaffService.__init__``)."""

    store: Store
    r: Renderer
    settings: StaffSettings
    clock: Callable[[], float]

    def now(self) -> float:
        return float(self.clock())


class Permissions(ServiceBase):
    # -- who is asking ----------------------------------------------------------

    async def actor(self, user_id: int) -> Actor:
        if user_id in self.settings.admin_ids:
            return Actor(user_id, "admin", await self.store.staff.member(user_id), Area())
        member = await self.store.staff.member(user_id)
        if member is None:
            return Actor(user_id, "resident")
        area = Area() if member.is_admin else member.area
        return Actor(user_id, member.role, member, area)

    def covers(self, actor: Actor, case: Case) -> bool:
        """The case is in the actor's area (admins: every area)."""
        if actor.is_admin:
            return True
        if actor.role != "worker":
            return False
        area = case.responsible
        return actor.area.covers(area.city, area.district, area.township)

    def may_work(self, actor: Actor, case: Case) -> bool:
        """Reply, set the expected date, resolve: the assignee, or an admin."""
        if actor.is_admin:
            return True
        return self.covers(actor, case) and case.assignee_id == actor.user_id

    def may_route(self, actor: Actor, case: Case) -> bool:
        """Transfer or mark invalid: the assignee, any area worker while nobody has
        claimed it, or an admin."""
        return self.may_work(actor, case) or (self.covers(actor, case) and case.status in UNCLAIMED)

    @staticmethod
    def full_phone(actor: Actor, covers: bool, private: bool) -> bool:
        """Full phone numbers only in a private chat: to a worker of the case's area,
        and to admins (who act on cases nobody has). Every view is audited."""
        return private and ((actor.role == "worker" and covers) or actor.is_admin)

    async def audit(
        self,
        actor: Actor,
        action: str,
        case_id: int | None = None,
        allowed: bool = True,
        detail: str | None = None,
    ) -> None:
        await self.store.staff.audit(
            actor.user_id, actor.role, action, case_id, allowed, detail, now=self.now()
        )

    async def refuse(self, actor: Actor, action: str, case_id: int | None) -> Outcome:
        await self.audit(actor, action, case_id, allowed=False)
        return Outcome(False, reason="forbidden")

    async def holder_label(self, case: Case) -> str | None:
        if case.assignee_id is None:
            return None
        member = await self.store.staff.member(case.assignee_id)
        if member is None and case.assignee_id in self.settings.admin_ids:
            return self.r.label("staff.role.admin") + f" #{case.assignee_id}"
        return member.label if member else f"#{case.assignee_id}"
