"""Submit help requests through the engine, one resident each, printing every
reference number (flushed) as soon as the assistant has shown it.

Used by tests/test_cases_crash.py, which SIGKILLs this process at a random point and
checks the database afterwards. Resumable: a resident whose request was already
stored (or whose draft waits at the summary) is finished, not submitted twice.

    python -m tests.cases_submitter DB START COUNT
"""

from __future__ import annotations

import asyncio
import re
import sys
import time

from bot.app import open_app
from bot.config import PROJECT_ROOT, Config
from bot.dialog.events import Event
from bot.domain.cases import CATEGORIES

REF = re.compile(r"SC-\d{4}-[2-9A-HJ-NP-Z]{4}")
USER_BASE = 500_000
CITIES = [("成都市", "武侯区"), ("凉山彝族自治州", "西昌市"), ("资阳市", "安岳县")]


def expected(i: int) -> dict:
    city, district = CITIES[i % len(CITIES)]
    return {
        "user_id": USER_BASE + i,
        "category": CATEGORIES[i % len(CATEGORIES)],
        "city": city,
        "district": district,
        "township": f"第{i}镇",
        "village": f"第{i}村",
        "description": f"测试求助第{i}号：家里有困难，需要帮助",
        "phone": f"138{i:08d}",
    }


class Submitter:
    def __init__(self, app) -> None:
        self.app = app
        # Increasing like Telegram's, and never reused after a restart.
        self.update_id = time.time_ns() // 1000

    async def send(self, uid: int, **kw) -> list:
        self.update_id += 1
        ev = Event(user_id=uid, chat_id=uid, update_id=self.update_id, **kw)
        return await self.app.engine.handle(ev)

    async def submit(self, i: int) -> str:
        e = expected(i)
        uid = e["user_id"]
        mine = await self.app.store.cases.for_user(uid)
        if mine:  # stored before a crash, the ref never printed
            return mine[0].ref
        state = await self.app.store.load_state(uid) or {}
        data = state.get("data") or {}
        draft = data.get("draft_id")
        # At the summary with its 乡镇/村 (the first summary comes before they are added).
        done = data.get("village") == e["village"] and not data.get("editing")
        if not (state.get("flow") == "help" and state.get("step") == "summary" and draft and done):
            await self.send(uid, payload="menu:help")
            for payload in (
                "hc:who:self",
                "hc:consent:yes",
                f"hc:cat:{e['category']}",
                f"hc:city:{e['city']}",
                f"hc:dist:{e['district']}",
            ):
                await self.send(uid, payload=payload)
            for text in (e["description"], e["phone"]):
                await self.send(uid, text=text)
            # The 乡镇 and 村 from the summary (修改 → 地区).
            for payload in (
                "hc:edit",
                "hc:ef:region",
                f"hc:city:{e['city']}",
                f"hc:dist:{e['district']}",
            ):
                await self.send(uid, payload=payload)
            await self.send(uid, text=e["township"])
            replies = await self.send(uid, text=e["village"])
            draft = next(p[6:] for r in replies for p in r.payloads() if p.startswith("hc:ok:"))
        replies = await self.send(uid, payload=f"hc:ok:{draft}")
        m = REF.search("\n".join(r.text for r in replies))
        if m is None:
            raise SystemExit(f"no reference number for request {i}")
        return m.group(0)


async def main(db: str, start: int, count: int) -> int:
    app = await open_app(Config(db_path=db, content_dir=PROJECT_ROOT))
    try:
        sub = Submitter(app)
        for i in range(start, start + count):
            ref = await sub.submit(i)
            print(f"{ref} {i}", flush=True)
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
