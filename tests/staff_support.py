"""Shared helpers for the staff tests: an app with staff configuration and a fake
clock, staff members, requests, and driving staff turns through the engine."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from pathlib import Path
from typing import Any

from bot.app import App, open_app
from bot.config import PROJECT_ROOT, Config
from bot.content import Content, ContentHolder
from bot.dialog.events import Event, Reply
from bot.domain.cases import Case, NewCase
from bot.staff.service import StaffService
from bot.store.staff import Area

CHINA = dt.timezone(dt.timedelta(hours=8))
ADMIN = 900
WUHOU_A = 501
WUHOU_B = 502
JINJIANG = 601
RESIDENT = 1001
CHAT_WUHOU = -100123
CHAT_CHENGDU = -100124
CHAT_DEFAULT = -100999
PHONE = "13812345678"
MASKED = "138****5678"


def ts(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> float:
    return dt.datetime(y, m, d, h, mi, tzinfo=CHINA).timestamp()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def set(self, t: float) -> None:
        self.t = t

    def advance(self, hours: float = 0, days: float = 0) -> None:
        self.t += hours * 3600 + days * 86400


def staff_config(db_path: str, **extra) -> Config:
    sections = {
        "staff": {
            "area_chats": {"成都市/武侯区": CHAT_WUHOU, "成都市": CHAT_CHENGDU},
            "default_chat": CHAT_DEFAULT,
        },
        "deadlines": {"holidays": ["2025-01-01"]},
    }
    sections.update(extra)
    return Config(db_path=db_path, content_dir=PROJECT_ROOT, admin_ids=[ADMIN], extra=sections)


@functools.cache
def _bundled() -> Content:
    """The bundled content, loaded once per test process (snapshots are immutable; each
    app gets its own holder, so a test that reloads changes only its own app)."""
    holder, _report = ContentHolder.load(PROJECT_ROOT)
    return holder.current


async def open_staff_app(
    tmp_path: Path, start: float | None = None, db: str | None = None, **extra
) -> tuple[App, Clock]:
    """A staff app on ``db`` (the ``db_path`` fixture, so that a module marked
    both_backends runs on PostgreSQL too), else on a SQLite file in ``tmp_path``."""
    config = staff_config(db or str(tmp_path / "staff.db"), **extra)
    app = await open_app(config, ContentHolder(PROJECT_ROOT, _bundled()))
    clock = Clock(ts(2025, 1, 6, 10) if start is None else start)  # a Monday, 10:00
    app.engine.services.clock = clock
    return app, clock


def service(app: App) -> StaffService:
    return app.engine.services.staff


async def add_worker(app: App, user_id: int, area: str, name: str) -> None:
    city, _, district = area.partition("/")
    invite = await app.store.staff.create_invite(
        "worker", Area(city, district or None), ADMIN, 86400
    )
    member, why = await app.store.staff.redeem(invite.code, user_id, name)
    assert member is not None, why


async def new_case(
    app: App,
    *,
    urgent: bool = False,
    district: str = "武侯区",
    category: str = "living",
    user_id: int = RESIDENT,
    description: str = "家里断了粮，想申请临时救助",
) -> tuple[Case, list[Reply]]:
    """A request as the help flow stores it, then the staff hook (what the flow calls)."""
    clock = app.engine.services.clock
    # The deadline as the help flow sets it when it stores the request.
    days, due = app.engine.services.deadlines.for_new_case(
        category, urgent, clock(), 1 if urgent else 3
    )
    case, created = await app.store.cases.create(
        NewCase(
            draft_id=secrets.token_urlsafe(9),
            user_id=user_id,
            chat_id=user_id,
            category=category,
            region_city="成都市",
            region_district=district,
            region_township="玉林街道",
            region_village="玉林社区",
            description=description,
            phone=PHONE,
            contact_time="pm",
            target_days=days,
            due_at=due,
            urgent_by_resident=urgent,
        ),
        now=clock(),
    )
    assert created
    replies = checked(await service(app).on_case_created(case.id) + await delivered(app))
    fresh = await app.store.workflow.get(case.id)
    assert fresh is not None
    return fresh, replies


def checked(replies: list[Reply]) -> list[Reply]:
    """Every reply must be HTML Telegram accepts, under its length limit."""
    from bot.telegram.offline import check_telegram_html

    for reply in replies:
        problem = check_telegram_html(reply.text)
        assert problem is None, (problem, reply.text)
        assert 0 < len(reply.text) <= 4096
    return replies


async def delivered(app: App) -> list[Reply]:
    """What the outbox sender would deliver now (marked sent), as replies addressed
    to their chats: staff cards and alerts queued by the last turn or job."""
    out = []
    for msg in await app.store.outbox.due(float("inf"), limit=10_000):
        if not await app.store.outbox.claim(msg.id):
            continue  # a concurrent turn's drain (asyncio.gather) has taken it
        await app.store.outbox.mark_sent(msg.id, None)
        out.append(msg.reply)
    return out


async def _turn(app: App, user: int, group: int | None, **what) -> list[Reply]:
    chat = group if group is not None else user
    event = Event(user_id=user, chat_id=chat, is_group=group is not None, **what)
    return checked(await app.engine.handle(event) + await delivered(app))


async def press(app: App, user: int, payload: str, group: int | None = None) -> list[Reply]:
    return await _turn(app, user, group, payload=payload)


async def send(app: App, user: int, text: str, group: int | None = None) -> list[Reply]:
    return await _turn(app, user, group, text=text)


def to(replies: list[Reply], chat: int | None) -> list[Reply]:
    """Replies delivered to ``chat`` (None: in the chat of the event)."""
    return [r for r in replies if r.chat_id == chat]


def text_to(replies: list[Reply], chat: int | None) -> str:
    return "\n".join(r.text for r in to(replies, chat))


def payloads(replies: list[Reply]) -> list[str]:
    return [p for r in replies for p in r.payloads()]


async def write(app: App, user: int, case_id: int, action: str, text: str) -> list[Reply]:
    """Press a case's text action (reply, res, inv, note), type the text and, for a
    text the resident receives, press 发送 on the preview. The last step's replies."""
    await press(app, user, f"st:{action}:{case_id}")
    replies = await send(app, user, text)
    if action in ("reply", "res", "inv"):
        assert f"st:send:{case_id}" in payloads(replies), [r.text for r in replies]
        replies = await press(app, user, f"st:send:{case_id}")
    return replies


def said(replies: list[Reply], chat: int | None = None) -> list[str | None]:
    """The templates of the replies delivered to ``chat`` (None: the event's chat)."""
    return [r.template for r in to(replies, chat)]


def said_with(replies: list[Reply], chat: int | None = None) -> dict:
    """The values the last reply to ``chat`` was rendered with."""
    found = to(replies, chat)
    assert found, f"no reply to {chat}"
    return dict(getattr(found[-1].text, "context", {}))


async def send_outbox(app: App, application: Any) -> int:
    """Deliver what is due in the outbox through the adapter, as the sender does, on
    the app's clock; how many rows were delivered."""
    import time

    from bot.outbox import Sender
    from bot.telegram.delivery import telegram_deliver

    clock = getattr(app.engine.services, "clock", None) or time.time
    sender = Sender(app.store, app.renderer, rate=0, clock=clock)
    sender.add_channel("telegram", telegram_deliver(application))
    return await sender.drain()
