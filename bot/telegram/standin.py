"""A local Bot API server for crash tests and end-to-end runs: the offline stub
(bot/telegram/offline.py) behind real HTTP on 127.0.0.1, behaving as Telegram does
where crashes are concerned:

- long polling: an update stays on the server until a getUpdates call with a higher
  offset confirms it (a bot that dies before confirming gets it again);
- webhook (after setWebhook): each update is POSTed to the bot's URL until the bot
  answers 200; a refused connection, an error status or a time-out means "try again
  a little later" (Telegram retries for many hours). getUpdates is refused while a
  webhook is set, as Telegram does (409).

    with StandIn(token) as api:  # api.api_url for ``sanliang run --api-url``
        api.stub.queue_update(...)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.telegram.offline import ApiError, BotAPIStub, envelope

WEBHOOK_RETRY = 0.5
WEBHOOK_TIMEOUT = 10.0
WEBHOOK_CONNECTIONS = 8
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy


class StandIn:
    def __init__(self, token: str, stub: BotAPIStub | None = None) -> None:
        self.token = token
        self.stub = stub or BotAPIStub()
        self.webhook: dict[str, Any] | None = None
        self.webhook_posts = 0
        self.methods: set[str] = set()  # every method called (getUpdates is not recorded)
        self.counts: dict[str, int] = {}
        self.webhook_failures = 0
        self._pending: list[dict[str, Any]] = []  # webhook mode: not yet answered 200
        self._in_flight: set[int] = set()
        self._cond = threading.Condition()
        self._stopping = False
        standin, expected = self, f"/bot{token}/"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(body or "{}")
                else:
                    params = dict(parse_qsl(body, keep_blank_values=True))
                if not self.path.startswith(expected):
                    code, data = envelope(error=ApiError(401, "Unauthorized"))
                else:
                    method = self.path[len(expected) :]
                    try:
                        code, data = envelope(standin._call(method, params))
                    except ApiError as exc:
                        code, data = envelope(error=exc)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a bot killed mid-request: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._threads = [threading.Thread(target=self.server.serve_forever, daemon=True)]
        self._threads += [
            threading.Thread(target=self._push_loop, daemon=True)
            for _ in range(WEBHOOK_CONNECTIONS)
        ]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def __enter__(self) -> StandIn:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # -- updates -----------------------------------------------------------------------

    def queue_update(self, update: dict[str, Any]) -> None:
        """An update from a user: polled, or pushed to the webhook once one is set."""
        with self._cond:
            if self.webhook is not None:
                self._pending.append(update)
                self._cond.notify_all()
                return
        self.stub.queue_update(update)

    def unconfirmed(self) -> int:
        """Updates Telegram would still deliver (not confirmed / not answered 200)."""
        with self._cond:
            pushed = len(self._pending) + len(self._in_flight)
        with self.stub._lock:  # noqa: SLF001 - the stub's own queue
            polled = len(self.stub._updates)  # noqa: SLF001
        return pushed + polled

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        self.methods.add(method)
        self.counts[method] = self.counts.get(method, 0) + 1
        if method in ("setWebhook", "deleteWebhook"):
            self.stub.call(method, params)  # recorded (stub.sent) and its failures applied
        if method == "setWebhook":
            with self._cond:
                self.webhook = {"url": params.get("url"), "secret": params.get("secret_token")}
                # Updates waiting for getUpdates now go to the webhook, as on Telegram.
                with self.stub._lock:  # noqa: SLF001
                    self._pending.extend(self.stub._updates)  # noqa: SLF001
                    self.stub._updates.clear()  # noqa: SLF001
                self._cond.notify_all()
            return True
        if method == "deleteWebhook":
            with self._cond:
                self.webhook = None
                moved, self._pending = self._pending, []
            for update in moved:
                self.stub.queue_update(update)
            return True
        if method == "getUpdates" and self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        if method == "getWebhookInfo":
            with self._cond:
                url = (self.webhook or {}).get("url") or ""
                return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
        return self.stub.call(method, params)

    def _push_loop(self) -> None:
        """One webhook connection: the oldest unanswered update, until answered 200."""
        while True:
            with self._cond:
                while not self._stopping and (self.webhook is None or not self._pending):
                    self._cond.wait(0.5)
                if self._stopping:
                    return
                update = self._pending.pop(0)
                self._in_flight.add(update["update_id"])
                hook = dict(self.webhook or {})
            ok = self._post(hook, update)
            with self._cond:
                self._in_flight.discard(update["update_id"])
                if not ok:
                    self._pending.insert(0, update)
            if not ok:
                time.sleep(WEBHOOK_RETRY)

    def _post(self, hook: dict[str, Any], update: dict[str, Any]) -> bool:
        data = json.dumps(update, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the bot's webhook on 127.0.0.1
            hook["url"], data=data, headers={"Content-Type": "application/json"}
        )
        if hook.get("secret"):
            request.add_header("X-Telegram-Bot-Api-Secret-Token", hook["secret"])
        self.webhook_posts += 1
        try:
            with _DIRECT.open(request, timeout=WEBHOOK_TIMEOUT) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        self.webhook_failures += 1
        return False
