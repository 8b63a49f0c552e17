"""End to end over real HTTP: ``sanliang run --api-url`` as a subprocess against a small
Bot API stand-in on 127.0.0.1 (the offline stub behind stdlib http.server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram.offline import BotAPIStub, Call, Updates
from bot.telegram.standin import StandIn

TOKEN = "4242:E2E-TEST-TOKEN"
STEP_TIMEOUT = 20.0

pytestmark = pytest.mark.slow(9)  # a bot process per test


def run_bot(tmp_path: Path, *args: str, token: str | None = TOKEN) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("SANLIANG_CONFIG", None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "e2e.db"), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Resident:
    """One resident talking to the running bot through the stand-in."""

    def __init__(self, standin: StandIn, user_id: int = 5001) -> None:
        self.stub = standin.stub
        self.user_id = user_id
        self.updates = Updates(start=100)
        self.last: list[Call] = []

    def say(self, text: str, expect: str) -> list[Call]:
        mark = len(self.stub.sent())
        self.stub.queue_update(self.updates.message(text, self.user_id))
        return self._wait_from(mark, expect)

    def share_contact(self, phone: str, expect: str) -> list[Call]:
        mark = len(self.stub.sent())
        self.stub.queue_update(self.updates.contact(phone, self.user_id))
        return self._wait_from(mark, expect)

    def tap(self, label: str, expect: str) -> list[Call]:
        for call in reversed(self.last):
            markup = json.loads(call.params.get("reply_markup") or "{}")
            for row in markup.get("inline_keyboard", []):
                for b in row:
                    if b["text"] == label:
                        mark = len(self.stub.sent())
                        self.stub.queue_update(
                            self.updates.callback(
                                b["callback_data"], self.user_id, message=call.result
                            )
                        )
                        return self._wait_from(mark, expect)
        raise AssertionError(f"no button {label!r}")

    def _wait_from(self, mark: int, expect: str) -> list[Call]:
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            new = [
                c for c in self.stub.sent()[mark:] if c.method in ("sendMessage", "editMessageText")
            ]
            if any(expect in c.params.get("text", "") for c in new):
                time.sleep(0.2)
                self.last = [
                    c
                    for c in self.stub.sent()[mark:]
                    if c.method in ("sendMessage", "editMessageText")
                ]
                return self.last
            time.sleep(0.02)
        raise AssertionError(f"no reply containing {expect!r}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=25)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"bot did not stop within 25 s: {err}") from None
    return proc.returncode, err


def wait_running(proc: subprocess.Popen, stub: BotAPIStub) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"bot exited early: {proc.communicate()}")
        if stub.sent("getUpdates") or any(c.method == "deleteWebhook" for c in stub.sent()):
            return
        time.sleep(0.05)
    raise AssertionError("bot did not start polling")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(TOKEN) as s:
        yield s


def test_resident_from_start_to_a_logged_request(tmp_path: Path, standin: StandIn):
    proc = run_bot(tmp_path, "--api-url", standin.api_url)
    try:
        wait_running(proc, standin.stub)
        r = Resident(standin)
        r.say("/start", "三亮助手")
        r.tap("我要求助", "为谁求助")
        r.tap("为自己求助", "您同意吗")
        r.tap("同意，开始填写", "哪方面的困难")
        r.tap("住房", "哪个县（区）")
        r.tap("成都市", "哪个区、县")
        r.tap("锦江区", "遇到了什么困难")
        r.say("房子漏雨<script>，冬天冷", "哪个电话")
        summary = r.share_contact("+8613912345678", "请核对")
        assert "&lt;script&gt;" in "".join(c.params["text"] for c in summary)
        done = r.tap("确认提交", "保存好了")
        text = "".join(c.params["text"] for c in done)
        assert "SC-" in text
    finally:
        rc, err = stop(proc)
    assert rc == 0, err
    assert "running (long polling)" in err and "stopping" in err
    assert "Traceback" not in err
    # The commands menu was set at start, and every button press was answered.
    commands = [c["command"] for c in standin.stub.commands["default"]]
    assert commands[:4] == ["start", "menu", "help", "cancel"]
    presses = sum(1 for c in standin.stub.sent("answerCallbackQuery"))
    assert presses == 7  # one per tap above
    # The request is in the database, committed.
    import sqlite3

    with sqlite3.connect(tmp_path / "e2e.db") as db:
        (n,) = db.execute("SELECT COUNT(*) FROM cases").fetchone()
    assert n == 1


def test_sigterm_stops_the_bot(tmp_path: Path, standin: StandIn):
    proc = run_bot(tmp_path, "--api-url", standin.api_url)
    wait_running(proc, standin.stub)
    started = time.monotonic()
    rc, err = stop(proc, signal.SIGTERM)
    assert rc == 0, err
    assert time.monotonic() - started < 20


def test_rejected_token_exits_3(tmp_path: Path, standin: StandIn):
    proc = run_bot(tmp_path, "--api-url", standin.api_url, token="1:WRONG")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "rejected the bot token" in err and "Traceback" not in err


def test_missing_token_exits_2(tmp_path: Path):
    proc = run_bot(tmp_path, token=None)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in err


def test_token_from_the_config_file(tmp_path: Path, standin: StandIn):
    (tmp_path / "sanliang.toml").write_text(f'[telegram]\ntoken = "{TOKEN}"\n')
    proc = run_bot(tmp_path, "--api-url", standin.api_url, token=None)
    wait_running(proc, standin.stub)
    rc, err = stop(proc)
    assert rc == 0, err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, data: dict, secret: str | None) -> int:
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(url, json.dumps(data).encode(), headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # not listening yet


def test_webhook_mode_with_a_secret_token(tmp_path: Path, standin: StandIn):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    proc = run_bot(
        tmp_path,
        "--api-url",
        standin.api_url,
        "--webhook-url",
        url,
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--secret-token",
        "s3cret",
    )
    try:
        deadline = time.monotonic() + 30
        while not standin.stub.sent("setWebhook"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no setWebhook"
            time.sleep(0.05)
        (hook,) = standin.stub.sent("setWebhook")
        assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret"
        updates = Updates(start=900)
        # Wait for the webhook server to listen, then: a wrong secret is refused.
        status = None
        while time.monotonic() < deadline:
            status = _post(url, updates.message("/start", 6001), "wrong")
            if status != 0:
                break
            time.sleep(0.1)
        assert status == 403
        assert _post(url, updates.message("/start", 6001), "s3cret") == 200
        while time.monotonic() < deadline and not standin.stub.sent("sendMessage"):
            time.sleep(0.05)
        (sent,) = standin.stub.sent("sendMessage")
        assert sent.params["chat_id"] == "6001" and "三亮助手" in sent.params["text"]
    finally:
        rc, err = stop(proc)
    assert rc == 0, err
    assert "webhook on 127.0.0.1" in err
