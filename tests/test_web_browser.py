"""The web chat in a real browser: Debian's Chromium driven by Playwright, at a phone's
size with WeChat's user agent, against ``sanliang web`` running as a subprocess that
also receives the Telegram webhook (a worker answers from Telegram, through the offline
Bot API stand-in). One browser for the module; screenshots go to ``web-screenshots/``
(or $SANLIANG_SCREENSHOTS)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from bot.config import PROJECT_ROOT
from bot.telegram.offline import Updates
from bot.telegram.standin import StandIn
from tests.test_telegram_e2e import TOKEN

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("SANLIANG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 12; V2118A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5061 "
    "MMWEBSDK/20230504 MMWEBID/1234 MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
PHONE = {"width": 360, "height": 740}
SECRET = "browser-test-secret"
ADMIN = 900
SHOTS = Path(os.environ.get("SANLIANG_SCREENSHOTS", PROJECT_ROOT / "web-screenshots"))
WAIT_MS = 30_000  # generous: the machine may be busy

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium (make test installs it)"),
    pytest.mark.slow(40),  # the whole module, on one worker (tests/conftest.py)
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    def __init__(self, base: str, standin: StandIn) -> None:
        self.base = base
        self.standin = standin
        self.updates = Updates(start=50_000)

    def telegram(self, update: dict) -> None:
        r = httpx.post(
            f"{self.base}/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=10,
        )
        assert r.status_code == 200, r.status_code

    def admin_says(self, text: str) -> None:
        self.telegram(self.updates.message(text, ADMIN))

    def admin_presses(self, payload: str) -> None:
        self.telegram(self.updates.callback(payload, ADMIN))

    def wait_for_backlog(self, n: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = httpx.get(f"{self.base}/metrics", timeout=5).text
            m = re.search(r"^sanliang_web_queue_backlog (\S+)$", text, re.M)
            if m and float(m.group(1)) >= n:
                return
            time.sleep(0.1)
        raise AssertionError(f"fewer than {n} messages waiting")

    def wait_for_bot_text(self, needle: str, chat_id: int = ADMIN) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for call in self.standin.stub.sent("sendMessage"):
                text = call.params.get("text", "")
                if str(call.params.get("chat_id")) == str(chat_id) and needle in text:
                    return text
            time.sleep(0.05)
        raise AssertionError(f"the bot never sent {needle!r} to {chat_id}")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with StandIn(TOKEN) as standin:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.pop("SANLIANG_CONFIG", None)
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            SANLIANG_ADMIN_IDS=str(ADMIN),
            NO_PROXY="127.0.0.1,localhost",
            SANLIANG_LOG_LEVEL="INFO",
        )
        log_path = tmp / "site.log"
        log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the child's, closed below
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "web",
                "--db",
                str(tmp / "web.db"),
                "--port",
                str(port),
                "--api-url",
                standin.api_url,
                "--telegram-webhook-url",
                f"{base}/telegram",
            ],
            cwd=tmp,
            env=env,
            # A file, not a pipe: nobody reads a pipe while the tests run, and a full one
            # would stop the server at its next log line.
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise AssertionError(
                        f"sanliang web did not start: {log_path.read_text('utf-8')}"
                    )
                time.sleep(0.1)
            site = Site(base, standin)
            yield site
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            site_log = log_path.read_text(encoding="utf-8", errors="replace")
            # The access log holds routes and statuses only: no message, no phone number.
            assert "13800138000" not in site_log and "低保" not in site_log, site_log[-2000:]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


class Phone:
    """One resident's phone: a browser context (its own cookies) and its page."""

    def __init__(self, browser, site: Site) -> None:
        self.site = site
        self.context = browser.new_context(
            viewport=PHONE,
            user_agent=WECHAT_UA,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        )
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self) -> None:
        self.page.goto(self.site.base + "/")
        self.wait_text("请选择您要办的事")

    def bot_texts(self) -> list[str]:
        return self.page.locator(".msg.bot .bubble, .msg.notice .bubble").all_inner_texts()

    def wait_text(self, needle: str) -> None:
        self.page.locator("#log").get_by_text(needle, exact=False).last.wait_for(timeout=WAIT_MS)

    def press(self, label: str, expect: str) -> None:
        self.page.locator(".buttons").get_by_role("button", name=label, exact=True).last.click()
        self.wait_text(expect)

    def say(self, text: str, expect: str) -> None:
        box = self.page.get_by_role("textbox", name=re.compile("输入"))
        box.fill(text)
        box.press("Enter")
        self.wait_text(expect)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()

    def only_local(self) -> None:
        outside = [
            u
            for u in self.requests
            if urlparse(u).hostname not in ("127.0.0.1",) and not u.startswith("data:")
        ]
        assert not outside, outside


@pytest.fixture
def phone(browser, site) -> Iterator[Phone]:
    p = Phone(browser, site)
    try:
        yield p
        assert not p.errors, p.errors
        p.only_local()
    finally:
        p.close()


def test_menu_question_and_accessible_page(phone: Phone):
    page = phone.page
    phone.open()
    # Accessibility: a live log, named input and send button, real buttons, big type.
    assert page.get_attribute("#log", "role") == "log"
    page.get_by_role("textbox", name=re.compile("输入")).wait_for()
    page.get_by_role("button", name="发送").wait_for()
    assert page.get_by_role("button", name="问政策").count() == 1
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.bubble')).fontSize)")
    assert size >= 18
    phone.shot("1-menu")
    page.get_by_role("button", name="大字").click()
    larger = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.bubble')).fontSize)"
    )
    assert larger > size
    assert page.get_attribute("#big", "aria-pressed") == "true"
    phone.shot("2-menu-large")
    page.get_by_role("button", name="大字").click()
    # At 320 px nothing sticks out sideways.
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    phone.shot("0-menu-320px")
    page.set_viewport_size(PHONE)
    phone.say("低保咋个申请", "最低生活保障")
    phone.shot("3-answer")
    # Reload keeps the conversation (the cookie names the device; the log is stored).
    page.reload()
    phone.wait_text("最低生活保障")
    assert page.locator(".msg.user .bubble").all_inner_texts()[-1] == "低保咋个申请"
    # The answer's buttons still work after the reload.
    phone.press("回主菜单", "请选择您要办的事")


def test_channels_with_the_phones_location(phone: Phone):
    phone.context.grant_permissions(["geolocation"], origin=phone.site.base)
    phone.context.set_geolocation({"latitude": 30.66, "longitude": 104.06})
    phone.open()
    phone.press("找渠道", "12345")
    # The hotline is a tap-to-call link.
    assert phone.page.locator('.bubble a[href="tel:12345"]').count() >= 1
    phone.page.get_by_role("button", name="发送我的位置").click()
    answer = re.compile("离您最近|谢谢您发来位置")
    phone.page.locator(".msg.bot .bubble").filter(has_text=answer).last.wait_for(timeout=WAIT_MS)
    # The answer may arrive by the event stream before the send's own response, which
    # replaces the pending "📍" with the logged "📍 我的位置": wait for that too.
    shown = phone.page.locator(".msg.user:not(.pending) .bubble").filter(has_text="📍 我的位置")
    shown.last.wait_for(timeout=WAIT_MS)


def test_usable_on_slow_3g(phone: Phone):
    """Chrome's "Slow 3G" (400 ms round trips, 400 kbit/s down): the menu is there
    within a few seconds, and a question is answered."""
    cdp = phone.context.new_cdp_session(phone.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 400,
            "downloadThroughput": 400 * 1024 / 8,
            "uploadThroughput": 400 * 1024 / 8,
        },
    )
    start = time.monotonic()
    phone.open()
    assert time.monotonic() - start < 8, time.monotonic() - start
    phone.say("特困人员是啥子", "特困")


def test_screening_to_a_result(phone: Phone):
    phone.open()
    phone.press("自助测评", "为谁")
    phone.press("为自己测", "第 1 题")
    phone.press("成都市", "城镇")
    phone.press("城镇", "几口人")
    phone.say("1", "收入")
    phone.say("300元", "年纪")
    phone.say("72", "残疾")
    phone.press("没有残疾证", "照顾")
    phone.press("没有，或者他们没能力照顾", "存款")
    phone.press("没有或不到1万", "汽车")
    phone.press("都没有", "住房")
    phone.press("住房没问题", "都没有")
    phone.press("都没有", "看病")
    phone.press("不算多", "测评结果")
    assert any("乡镇人民政府或街道办事处" in t for t in phone.bot_texts())
    phone.shot("4-screening-result")


def test_help_request_and_a_workers_reply_while_open(phone: Phone, site: Site):
    phone.open()
    phone.press("我要求助", "为谁")
    phone.press("为自己求助", "同意")
    phone.press("同意，开始填写", "哪方面")
    phone.press("取暖过冬物资", "市州")
    phone.press("成都市", "区县")
    phone.press("武侯区", "什么困难")
    phone.say("家里没钱交暖气费，老人身体也不好", "电话")
    phone.say("138 0013 8000", "请核对您的求助")
    phone.shot("5-help-summary")
    phone.press("确认提交", "SC-")
    ref = re.search(r"SC-\d{4}-[0-9A-Z]{4}", "\n".join(phone.bot_texts())).group(0)
    phone.shot("6-help-reference")
    # The request reached the workers over Telegram (no staff chat is configured, so
    # the admins get the card), through this process's outbox, phone masked there.
    card = site.wait_for_bot_text("新求助")
    assert ref in card and "138****8000" in card and "13800138000" not in card, card
    # A worker (the admin, on Telegram) claims it and replies; the open page shows it.
    site.admin_says(f"/case {ref}")
    site.wait_for_bot_text(ref)
    case_id = _case_id(site, ref)
    site.admin_presses(f"st:claim:{case_id}")
    site.admin_presses(f"st:reply:{case_id}")
    site.admin_says("您好，明天上午社区会上门送取暖物资。")
    site.wait_for_bot_text("的居民：")  # the preview; only 发送 sends it
    site.admin_presses(f"st:send:{case_id}")
    phone.wait_text("明天上午社区会上门送取暖物资")
    assert phone.page.locator(".msg.notice").count() >= 1
    phone.shot("7-worker-reply")
    # It is in the conversation after a reload too, and not unread any more.
    phone.page.reload()
    phone.wait_text("明天上午社区会上门送取暖物资")


def test_notice_waits_for_the_next_visit_with_an_unread_mark(browser, site: Site):
    first = Phone(browser, site)
    try:
        first.open()
        first.press("我要求助", "为谁")
        first.press("为自己求助", "同意")
        first.press("同意，开始填写", "哪方面")
        first.press("生活困难", "市州")
        first.press("成都平原", "资阳")  # 市州 by 片区
        first.press("资阳市", "区县")
        first.press("雁江区", "什么困难")
        first.say("没有收入，吃饭都成问题", "电话")
        first.say("13900001111", "请核对您的求助")
        first.press("确认提交", "SC-")
        ref = re.search(r"SC-\d{4}-[0-9A-Z]{4}", "\n".join(first.bot_texts())).group(0)
        cookies = first.context.cookies()
        first.page.close()  # the resident closes the page
        site.admin_says(f"/case {ref}")
        site.wait_for_bot_text(ref)
        case_id = _case_id(site, ref)
        site.admin_presses(f"st:claim:{case_id}")
        site.admin_presses(f"st:reply:{case_id}")
        site.admin_says("请带户口簿到街道便民服务中心。")
        site.wait_for_bot_text("的居民：")  # the preview; only 发送 sends it
        site.admin_presses(f"st:send:{case_id}")
        # Both notices (claimed, the reply) wait in the resident's queue: /metrics says so.
        site.wait_for_backlog(2)
        # Next visit: the reply is there, marked new, with the unread count.
        page = first.context.new_page()
        first.page = page
        page.goto(site.base + "/")
        first.wait_text("请带户口簿到街道便民服务中心")
        assert page.locator(".msg.notice .new").count() >= 1
        badge = page.locator("#unread")
        assert badge.is_visible() and "新消息" in badge.inner_text()
        first.shot("8-unread-on-return")
        assert all(c["httpOnly"] for c in cookies if c["name"] == "sl_device")
        assert all(c["sameSite"] == "Lax" for c in cookies if c["name"] == "sl_device")
        first.only_local()
        assert not first.errors, first.errors
    finally:
        first.close()


def _case_id(site: Site, ref: str) -> int:
    """The case id from the buttons of the bot's message about ``ref``."""
    for call in reversed(site.standin.stub.sent("sendMessage")):
        if ref in call.params.get("text", ""):
            markup = json.loads(call.params.get("reply_markup") or "{}")
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    m = re.match(r"st:\w+:(\d+)", b.get("callback_data", ""))
                    if m:
                        return int(m.group(1))
    raise AssertionError(f"no case buttons for {ref}")
