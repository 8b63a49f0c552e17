"""The web channel over HTTP: httpx against the ASGI app (and a real uvicorn for the
live stream). Identity, CSRF, limits, headers, the conversation log, the queue of
messages outside the turn, /forget, health, metrics and the webhook door."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import sqlite3
import time

import httpx
import pytest

from bot.dialog.events import Button, Reply
from bot.store import Store, _migrations
from bot.store.identities import FIRST_ALLOCATED_ID
from bot.web.safe_html import to_safe_html
from bot.web.server import COOKIE, MAX_BODY_BYTES, STATIC_DIR, WebSettings, build_asgi

PAGE_LIMIT = 100 * 1024


@contextlib.asynccontextmanager
async def client_for(app, settings: WebSettings | None = None, **kw):
    asgi = build_asgi(app, settings, **kw)
    await asgi.state.web.start()
    transport = httpx.ASGITransport(asgi, client=(kw.pop("ip", "10.0.0.1"), 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.web = asgi.state.web  # type: ignore[attr-defined]
        yield c
    asgi.state.web.metrics.close()


async def open_page(c: httpx.AsyncClient) -> dict[str, str]:
    r = await c.get("/")
    assert r.status_code == 200
    token = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)
    return {"x-csrf-token": token}


@pytest.fixture
async def web(app):
    async with client_for(app) as c:
        yield c


async def test_page_headers_cookie_and_weight(web):
    r = await web.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "<script>" not in r.text and " on" not in re.sub(r"\s+", " ", r.text).replace(
        " one", ""
    )  # no inline script, no inline handlers
    assert 'aria-label="输入消息"' in r.text and ">发送<" in r.text and 'role="log"' in r.text
    total = len(r.content)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text):
        a = await web.get(asset)
        assert a.status_code == 200 and a.headers["x-content-type-options"] == "nosniff"
        total += len(a.content)
    assert total <= PAGE_LIMIT, total
    # Nothing on the page points anywhere but this server.
    for path in [*STATIC_DIR.iterdir()]:
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()), path
    assert "http" not in r.text.replace("http-equiv", "")


async def test_a_turn_is_stored_and_a_reload_shows_it(app, web):
    h = await open_page(web)
    r = await web.post("/api/send", json={"start": True}, headers=h)
    assert r.status_code == 200 and "请选择您要办的事" in r.json()["messages"][0]["html"]
    r = await web.post("/api/send", json={"text": "低保咋个申请", "cid": "c1"}, headers=h)
    roles = [m["role"] for m in r.json()["messages"]]
    assert roles[0] == "user" and "bot" in roles
    # A reload (same cookie) gets the conversation back; a second start adds nothing.
    hist = (await web.get("/api/history")).json()["messages"]
    assert [m["role"] for m in hist][:2] == ["bot", "user"] and hist[1]["text"] == "低保咋个申请"
    again = await web.post("/api/send", json={"start": True}, headers=h)
    assert again.json()["messages"] == []
    # The same message again (a retry over a bad connection) is handled once.
    dup = await web.post("/api/send", json={"text": "低保咋个申请", "cid": "c1"}, headers=h)
    assert dup.json()["duplicate"] is True
    assert len((await web.get("/api/history")).json()["messages"]) == len(hist)
    # Another phone is another resident.
    async with client_for(app) as other:
        h2 = await open_page(other)
        await other.post("/api/send", json={"text": "你好"}, headers=h2)
        assert len((await other.get("/api/history")).json()["messages"]) == 2
    rows = await app.store.fetchall("SELECT id, channel FROM channel_identities ORDER BY id")
    assert [r["channel"] for r in rows] == ["web", "web"]
    assert all(r["id"] > FIRST_ALLOCATED_ID for r in rows)


async def test_buttons_work_and_forged_ones_change_nothing(web):
    h = await open_page(web)
    await web.post("/api/send", json={"start": True}, headers=h)
    r = await web.post("/api/send", json={"payload": "menu:list", "label": "查清单"}, headers=h)
    assert r.json()["messages"][0] == {
        "id": r.json()["messages"][0]["id"],
        "role": "user",
        "text": "查清单",
    }
    r = await web.post("/api/send", json={"payload": "lst:t:../etc", "label": "x"}, headers=h)
    assert "过期" in r.json()["messages"][-1]["html"]
    r = await web.post("/api/send", json={"payload": "x" * 65}, headers=h)
    assert r.status_code == 400 and "刷新" in r.json()["html"]


async def test_csrf_and_identity_are_required(app, web):
    await web.get("/")  # has a cookie now, but sends no token
    for headers, body in [
        ({}, {"text": "hi"}),
        ({"x-csrf-token": "0" * 32}, {"text": "hi"}),
    ]:
        r = await web.post("/api/send", json=body, headers=headers)
        assert r.status_code == 403
    h = await open_page(web)
    r = await web.post(
        "/api/send", json={"text": "hi"}, headers={**h, "origin": "https://evil.example"}
    )
    assert r.status_code == 403
    r = await web.post(
        "/api/send",
        content="text=hi",
        headers={**h, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    # A token of one device is worthless with another device's cookie.
    async with client_for(app) as other:
        await other.get("/")
        r = await other.post("/api/send", json={"text": "hi"}, headers=h)
        assert r.status_code == 403
    # A forged cookie is no identity at all.
    web.cookies.set(COOKIE, "abc.forged")
    r = await web.post("/api/send", json={"text": "hi"}, headers=h)
    assert r.status_code == 403
    assert (await app.store.fetchone("SELECT COUNT(*) AS n FROM channel_identities"))["n"] == 0


async def test_size_limits_get_kind_messages(web):
    h = await open_page(web)
    r = await web.post("/api/send", json={"text": "字" * 1001}, headers=h)
    assert r.status_code == 413 and "分几次" in r.json()["html"]
    r = await web.post(
        "/api/send",
        content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={**h, "content-type": "application/json"},
    )
    assert r.status_code == 413
    r = await web.post(
        "/api/send", content=b"[1,2", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 400
    r = await web.post("/api/send", json={"text": "   "}, headers=h)
    assert r.status_code == 400 and "先输入" in r.json()["html"]
    r = await web.post("/api/send", json={"location": {"lat": "nan", "lon": 500}}, headers=h)
    assert r.status_code == 400
    assert (await web.get("/api/history")).json()["messages"] == []


async def test_rate_limits_per_identity_and_per_address(app):
    settings = WebSettings(user_limit=5, ip_limit=8, window=60)
    async with client_for(app, settings) as c:
        h = await open_page(c)
        codes = [
            (await c.post("/api/send", json={"text": f"你好{i}"}, headers=h)).status_code
            for i in range(7)
        ]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        r = await c.post("/api/send", json={"text": "再来"}, headers=h)
        assert "稍等" in r.json()["html"]
        # A second phone behind the same address: its own 5, but the address's 8 are used.
        c.cookies.clear()
        h2 = await open_page(c)
        codes = [
            (await c.post("/api/send", json={"text": "你好"}, headers=h2)).status_code
            for _ in range(2)
        ]
        assert 429 in codes
        metrics = (await c.get("/metrics")).text
        assert 'sanliang_web_rejected_total{reason="rate"}' in metrics


async def test_forget_also_forgets_the_device(app, web):
    h = await open_page(web)
    await web.post("/api/send", json={"text": "低保咋个申请"}, headers=h)
    old_cookie = web.cookies.get(COOKIE)
    user_id = (await app.store.fetchone("SELECT id FROM channel_identities"))["id"]
    await web.post("/api/send", json={"text": "/forget"}, headers=h)
    r = await web.post("/api/send", json={"payload": "fg:yes", "label": "确认删除"}, headers=h)
    body = r.json()
    assert body["forgotten"] is True and body["messages"]
    assert web.cookies.get(COOKIE) != old_cookie  # a new device id
    for table, col in (
        ("channel_identities", "id"),
        ("web_messages", "user_id"),
        ("conversations", "user_id"),
    ):
        row = await app.store.fetchone(
            f"SELECT COUNT(*) AS n FROM {table} WHERE {col} = ?", (user_id,)
        )
        assert row["n"] == 0, table
    # The old cookie no longer finds anything.
    web.cookies.set(COOKIE, old_cookie)
    assert (await web.get("/api/history")).json()["messages"] == []


async def test_notice_waits_unread_then_is_marked_shown(app, web):
    h = await open_page(web)
    await web.post("/api/send", json={"start": True}, headers=h)
    user_id = (await app.store.fetchone("SELECT id FROM channel_identities"))["id"]
    sender = web.web.sender
    # Through the process's notifier, as staff notices and announcements go.
    notifier = app.engine.services.notifier
    assert await notifier.send(
        user_id, Reply("工作人员回复了<b>您</b>", [[Button("我的求助进度", "menu:progress")]])
    )
    assert await sender.deliver(FIRST_ALLOCATED_ID + 999, Reply("nobody")) is False
    hist = (await web.get("/api/history")).json()
    assert hist["unread"] == 1 and hist["messages"][-1]["unread"] is True
    assert hist["messages"][-1]["buttons"] == [[["我的求助进度", "menu:progress"]]]
    assert "sanliang_web_queue_backlog 1.0" in (await web.get("/metrics")).text
    r = await web.post("/api/seen", json={"up_to": hist["messages"][-1]["id"]}, headers=h)
    assert r.json()["marked"] == 1
    assert (await web.get("/api/history")).json()["unread"] == 0
    assert "sanliang_web_queue_backlog 0.0" in (await web.get("/metrics")).text


async def test_health_metrics_and_webhook_door(app, web):
    assert (await web.get("/healthz")).json() == {"ok": True}
    h = await open_page(web)
    await web.post("/api/send", json={"text": "低保"}, headers=h)
    text = (await web.get("/metrics")).text
    assert 'sanliang_turns_total{channel="web"} 1.0' in text
    assert "sanliang_turn_seconds_bucket" in text and "sanliang_turn_errors_total" in text
    assert (await web.post("/telegram", json={})).status_code == 404  # no Telegram here


def test_reply_html_is_rebuilt_from_an_allow_list():
    hostile = (
        "<b>粗</b><script>alert(1)</script><img src=x onerror=alert(1)>"
        '<a href="javascript:alert(1)">点</a><a href="https://example.org/a?b=1&c=2">链</a>'
        '<i onclick="x()">斜</i><style>*{}</style>&lt;script&gt;<pre>a<b>b</pre>'
    )
    out = to_safe_html(hostile)
    assert "<script" not in out and "onerror" not in out and "onclick" not in out
    assert "javascript:" not in out and "<img" not in out and "<style" not in out
    assert "<b>粗</b>" in out and "&lt;script&gt;" in out and "<i>斜</i>" in out
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer"' in out
    assert "alert(1)" not in out
    assert out.count("<b>") == out.count("</b>") and out.count("<pre>") == out.count("</pre>")


async def test_migration_keeps_existing_telegram_users(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for number, name, sql in _migrations():
        if number >= 7:
            break
        conn.executescript(sql)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (number, name, time.time()))
    conn.execute('INSERT INTO conversations VALUES (4242, \'{"flow": "ask"}\', 0)')
    conn.execute("INSERT INTO staff_members (user_id, role, joined_at) VALUES (501, 'worker', 0)")
    conn.commit()
    conn.close()
    store = await Store.open(path)
    try:
        rows = await store.fetchall(
            "SELECT id, channel, external_id FROM channel_identities ORDER BY id"
        )
        assert [(r["id"], r["channel"], r["external_id"]) for r in rows] == [
            (501, "telegram", "501"),
            (4242, "telegram", "4242"),
        ]
        assert await store.identities.resolve("telegram", "4242") == 4242
        assert await store.identities.resolve("telegram", "77") == 77  # new: keeps its id
        web_id = await store.identities.resolve("web", "device-a")
        assert web_id == FIRST_ALLOCATED_ID + 1
        assert await store.identities.resolve("web", "4242") != 4242  # strings never collide
        assert (await store.load_state(4242)) == {"flow": "ask"}
        # A forgotten web id is never given again.
        await store.identities.forget(web_id)
        assert await store.identities.resolve("web", "device-b") > web_id + 1
    finally:
        await store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_live_stream_delivers_a_notice_to_an_open_page(app):
    """Server-sent events through a real uvicorn: the page's stream gets the notice."""
    import uvicorn

    asgi = build_asgi(app)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.ensure_future(server.serve())
    try:
        for _ in range(500):  # up to 10 s for uvicorn to listen
            if server.started:
                break
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            h = await open_page(c)
            first = await c.post("/api/send", json={"start": True}, headers=h)
            last = first.json()["messages"][-1]["id"]
            user_id = (await app.store.fetchone("SELECT id FROM channel_identities"))["id"]
            async with c.stream("GET", f"/api/events?after={last}", timeout=10) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                await asyncio.sleep(0.1)
                await app.engine.services.notifier.send(user_id, Reply("状态变了：已办结"))
                async for line in stream.aiter_lines():
                    if line.startswith("data:"):
                        message = json.loads(line[5:])
                        assert "已办结" in message["html"] and message["unread"] is True
                        break
    finally:
        server.should_exit = True
        await task


async def test_failed_turns_are_counted_and_answered_kindly(app, web):
    async def broken(turn, arg):
        raise RuntimeError("boom")

    app.engine.add_command("broken", broken)
    h = await open_page(web)
    r = await web.post("/api/send", json={"text": "/broken"}, headers=h)
    assert r.status_code == 200 and "回主菜单" in json.dumps(r.json(), ensure_ascii=False)
    assert "sanliang_turn_errors_total 1.0" in (await web.get("/metrics")).text


async def test_access_log_has_routes_only(app, web, caplog):
    caplog.set_level("INFO", logger="bot.web")
    h = await open_page(web)
    await web.post("/api/send", json={"text": "我的电话 13800138000"}, headers=h)
    await web.get("/api/history?after=99")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web"]
    assert any(line.startswith("POST /api/send 200") for line in lines), lines
    text = "\n".join(lines)
    assert "13800138000" not in text and "after=" not in text and "10.0.0.1" not in text


async def test_webhook_needs_the_secret_and_stores_before_answering(app):
    from bot.telegram.adapter import build_application
    from bot.telegram.inbox import TelegramInbox
    from bot.telegram.offline import BotAPIStub, OfflineRequest, Updates

    stub = BotAPIStub()
    application = build_application(
        app, "123456:T", request=OfflineRequest(stub), rate_limiter=None
    )
    await application.initialize()
    inbox = TelegramInbox(application, app.store)
    try:
        settings = WebSettings(telegram_secret="s3cret")
        async with client_for(app, settings, telegram_inbox=inbox) as c:
            update = Updates().message("/start", 77)
            assert (await c.post("/telegram", json=update)).status_code == 403
            wrong = {"x-telegram-bot-api-secret-token": "nope"}
            assert (await c.post("/telegram", json=update, headers=wrong)).status_code == 403
            right = {"x-telegram-bot-api-secret-token": "s3cret"}
            assert (await c.post("/telegram", content=b"[", headers=right)).status_code == 400
            assert (await c.post("/telegram", json=[1], headers=right)).status_code == 400
            assert (await c.post("/telegram", json=update, headers=right)).status_code == 200
            # Answered once stored, then handled from the store: the user got a reply
            # and the update is no longer pending. The same update again is not run twice.
            assert (await c.post("/telegram", json=update, headers=right)).status_code == 200
            await inbox.wait_idle()
            assert inbox.handled == 1
            replies = [m for m in stub.sent("sendMessage") if str(m.params["chat_id"]) == "77"]
            assert len(replies) == 1, replies
            assert await app.store.inbox.pending() == []
    finally:
        await application.shutdown()
