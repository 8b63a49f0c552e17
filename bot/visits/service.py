"""Home visits: who may see and do what, campaigns and their assignment, the actions a
visit's findings become. Every check reads the store; nothing a button says about a
household, a task or a worker is trusted. Views of a household's personal data and
every refusal go to the audit log."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.calendar import add_working_days, fmt_when, local_date
from bot.config import Config, ConfigError
from bot.domain.cases import Case
from bot.render import mask_phone
from bot.staff.permissions import Actor
from bot.store.visits import Action, Campaign, HouseholdRow, Task, Visit
from bot.visits.steps import NEED_KINDS, URGENT_KINDS, needs, risks

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.staff.service import StaffService
    from bot.store import Store
    from bot.store.staff import StaffMember

DEFAULT_PHOTO_KB = 5120
MAX_PHOTOS = 3
MAX_CAMPAIGN_NAME = 30
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class VisitSettings:
    photo_max_kb: int = DEFAULT_PHOTO_KB  # a larger photo is refused kindly

    @classmethod
    def from_config(cls, config: Config | None) -> VisitSettings:
        section = config.section("visits") if config is not None else {}
        kb = section.get("photo_max_kb", DEFAULT_PHOTO_KB)
        if isinstance(kb, bool) or not isinstance(kb, int) or not 10 <= kb <= 20480:
            raise ConfigError("[visits] photo_max_kb: expected a whole number from 10 to 20480")
        return cls(photo_max_kb=kb)


@dataclass
class Opened:
    campaign: Campaign | None = None
    why: str = ""  # name_taken | dates | area
    assigned: int = 0
    unassigned: int = 0
    bad: list[str] = field(default_factory=list)


def mask_name(name: str) -> str:
    """张** : the family name only, where more than one person sees it."""
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else "*"


def parse_day(raw: str) -> dt.date | None:
    raw = raw.strip()
    if not _DATE.match(raw):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def parse_areas(
    words: list[str], regions: dict[str, list[str]]
) -> tuple[list[tuple[str, str]], list[str]]:
    """``成都市/武侯区`` or ``成都市`` words → (areas, the words that are not areas)."""
    areas, bad = [], []
    for word in words:
        city, _, district = word.strip().partition("/")
        if city in regions and (not district or district in regions[city]):
            areas.append((city, district))
        else:
            bad.append(word[:30])
    return areas, bad


class VisitService:
    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        staff: StaffService,
        settings: VisitSettings,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.repo = store.visits
        self.r = renderer
        self.staff = staff
        self.settings = settings
        self.clock = clock

    def now(self) -> float:
        return float(self.clock())

    # -- who may -----------------------------------------------------------------------

    async def actor(self, user_id: int) -> Actor:
        return await self.staff.actor(user_id)

    @staticmethod
    def covers(actor: Actor, h: HouseholdRow) -> bool:
        """The household is in the actor's area (admins: everywhere)."""
        if actor.is_admin:
            return True
        return actor.role == "worker" and actor.area.covers(h.city, h.district, h.township)

    def may_visit(self, actor: Actor, task: Task) -> bool:
        """Record a visit: the assignee, any worker of the area while nobody is
        assigned, or an admin."""
        if actor.is_admin:
            return True
        if not self.covers(actor, task.household):
            return False
        return task.assignee_id in (None, actor.user_id)

    def may_edit(self, actor: Actor, visit: Visit) -> bool:
        """A submitted visit can be corrected by its author, on the day it was made."""
        if visit.author_id != actor.user_id:
            return False
        if visit.finished_at is None:
            return True
        return local_date(visit.finished_at) == local_date(self.now())

    async def audit(
        self, actor: Actor, action: str, allowed: bool = True, detail: str = ""
    ) -> None:
        await self.staff.audit(actor, action, allowed=allowed, detail=detail or None)

    # -- how a household is shown ------------------------------------------------------

    def household_view(self, h: HouseholdRow, full: bool) -> dict[str, Any]:
        """Full only privately to the area's workers and admins (and audited there)."""
        return {
            "id": h.id,
            "name": h.head_name if full else mask_name(h.head_name),
            "id_tail": h.id_tail if full else "",
            "area": f"{h.city}{h.district}",
            "township": h.township,
            "village": h.village,
            "address": h.address if full else "",
            "phone": (h.phone if full else mask_phone(h.phone)) if h.phone else "",
            "categories": h.categories,
            "size": h.size,
            "note": h.note if full else "",
            "plan": h.plan,
            "resident": h.source == "resident",
            "full": full,
        }

    def action_view(self, a: Action, owner: str = "") -> dict[str, Any]:
        today = local_date(self.now()).isoformat()
        return {
            "id": a.id,
            "kind": a.kind,
            "title": self.r.label(f"visits.action.{a.kind}"),
            "need": a.need,
            "measure": a.measure,
            "owner": owner,
            "due": fmt_when(a.due_date, year=True),
            "status": a.status,
            "overdue": a.status == "open" and a.due_date < today,
        }

    async def owner_label(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        member = await self.store.staff.member(user_id)
        return member.label if member else f"#{user_id}"

    # -- campaigns -------------------------------------------------------------------

    async def open_campaign(
        self,
        name: str,
        start: str,
        deadline: str,
        area_words: list[str],
        regions: dict[str, list[str]],
        by: int | None,
    ) -> Opened:
        name = " ".join(name.split())
        day0, day1 = parse_day(start), parse_day(deadline)
        if not name or len(name) > MAX_CAMPAIGN_NAME:
            return Opened(why="name")
        if day0 is None or day1 is None or day1 < day0:
            return Opened(why="dates")
        areas, bad = parse_areas(area_words, regions)
        if bad or not areas:
            return Opened(why="area", bad=bad)
        campaign_id = await self.repo.create_campaign(
            name, day0.isoformat(), day1.isoformat(), areas, by, self.now()
        )
        if campaign_id is None:
            return Opened(why="name_taken")
        campaign = await self.repo.campaign(name)
        assert campaign is not None
        assigned, unassigned = await self.add_tasks(campaign)
        return Opened(campaign, assigned=assigned, unassigned=unassigned)

    async def add_tasks(self, campaign: Campaign) -> tuple[int, int]:
        """Tasks for the households of the campaign's areas that have none yet, each
        assigned to a worker covering its place (the closest area first, then the one
        with the fewest open tasks); then the unassigned ones of earlier runs."""
        households = await self.repo.untasked(campaign)
        load = await self.repo.load_counts()
        cache: dict[tuple[str, str, str], list[StaffMember]] = {}
        pairs: list[tuple[int, int | None]] = []
        for h in households:
            pairs.append((h.id, await self._pick(h, cache, load)))
        await self.repo.add_tasks(campaign.id, pairs, self.now())
        later = []
        for task in await self.repo.unassigned(campaign.id):
            if task.household.id in {h for h, _ in pairs}:
                continue
            who = await self._pick(task.household, cache, load)
            if who is not None:
                later.append((task.id, who))
        await self.repo.assign_many(later)
        assigned = sum(1 for _, a in pairs if a is not None) + len(later)
        return assigned, len(await self.repo.unassigned(campaign.id))

    async def _pick(
        self,
        h: HouseholdRow,
        cache: dict[tuple[str, str, str], list[StaffMember]],
        load: dict[int, int],
    ) -> int | None:
        key = (h.city, h.district, h.township)
        if key not in cache:
            found = await self.store.staff.workers_covering(h.city, h.district, h.township)
            best = max((len(m.area.parts()) for m in found), default=0)
            cache[key] = [m for m in found if len(m.area.parts()) == best]
        workers = cache[key]
        if not workers:
            return None
        chosen = min(workers, key=lambda m: (load.get(m.user_id, 0), m.user_id))
        load[chosen.user_id] = load.get(chosen.user_id, 0) + 1
        return chosen.user_id

    async def reassign(self, actor: Actor, task: Task, to: int) -> str:
        """ok | forbidden | not_covering (the new worker does not cover the place)."""
        if not actor.is_admin:
            await self.audit(actor, "visit_reassign", allowed=False, detail=f"task={task.id}")
            return "forbidden"
        target = await self.actor(to)
        if target.role != "worker" or not self.covers(target, task.household):
            return "not_covering"
        await self.repo.assign(task.id, to)
        await self.audit(actor, "visit_reassign", detail=f"task={task.id}")
        return "ok"

    async def visit_requested(self, case: Case) -> int:
        """A resident asked for a home visit (through a help request): their household
        joins every open campaign covering the place, assigned like the roster's. The
        request itself is linked to it (and followed up as any request is)."""
        now = self.now()
        head = self.r.label("visits.requested", ref=case.ref)
        place = (
            case.region_city,
            case.region_district,
            case.region_township or "",
            case.region_village or "",
        )
        household_id = await self.repo.add_requested(
            case.user_id or 0, place, head, case.phone or "", now
        )
        await self.repo.link_case(household_id, case.id, None, now)
        for campaign in await self.repo.campaigns(open_only=True):
            if campaign.covers(case.region_city, case.region_district):
                await self.add_tasks(campaign)
        return household_id

    # -- actions -----------------------------------------------------------------------

    def due_date(self, kind: str) -> str:
        """The working day an action is due: [deadlines] urgent for hazards, the
        ordinary target otherwise (a [deadlines.categories] entry named like the
        action's kind overrides either)."""
        deadlines = self.staff.settings.deadlines
        days = deadlines.target_days(kind, kind in URGENT_KINDS)
        return add_working_days(deadlines.calendar, local_date(self.now()), days).isoformat()

    async def sync_actions(self, visit: Visit, task: Task) -> tuple[list[Action], list[Action]]:
        """Make the visit's actions match its answers: an action for each need found
        that has none, and open ones whose need was corrected away are cancelled.
        Returns (created, cancelled)."""
        await self.repo.set_flags(visit.id, ",".join(risks(visit.answers, finished=True)))
        wanted = needs(visit.answers)
        have = await self.repo.actions_of_visit(visit.id)
        current = {a.kind: a for a in have if a.status != "cancelled"}
        created, cancelled = [], []
        now = self.now()
        for kind in wanted:
            if kind in current:
                continue
            owner = task.assignee_id if task.assignee_id is not None else visit.author_id
            action_id = await self.repo.add_action(
                task.household.id, visit.id, kind, owner, self.due_date(kind), visit.author_id, now
            )
            action = await self.repo.action(action_id)
            assert action is not None
            created.append(action)
        for kind, action in current.items():
            if kind in NEED_KINDS and kind not in wanted and action.status == "open":
                if await self.repo.set_action_status(action.id, "cancelled", visit.author_id, now):
                    cancelled.append(action)
        return created, cancelled

    async def may_act(self, actor: Actor, action: Action) -> HouseholdRow | None:
        """The household, when the actor may close this action (its owner, a worker of
        the area, an admin)."""
        h = await self.repo.household(action.household_id)
        if h is None:
            return None
        if actor.is_admin or action.owner_id == actor.user_id or self.covers(actor, h):
            return h
        return None
