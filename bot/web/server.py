"""The ASGI app: the chat page, its JSON API, live messages, health, metrics and,
optionally, the Telegram webhook, all in one Starlette application.

Identity without accounts: a random device id in a signed, HttpOnly, SameSite=Lax
cookie (Lax, so that opening the link from a QR code or a WeChat menu keeps it),
mapped to an internal user id through the channel identities. The page carries a
CSRF token derived from the device id; every state-changing request must send it
back in a header, as JSON, from the same origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from itsdangerous import BadSignature, Signer
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.telegram.guards import FLOOD_LIMIT, FLOOD_WINDOW, FloodGuard
from bot.web.channel import (
    MAX_LABEL_CHARS,
    MAX_TEXT_CHARS,
    ChannelRouter,
    WebChannel,
    WebSender,
    valid_location,
)
from bot.web.metrics import Metrics
from bot.web.middleware import AccessLog, SecurityHeaders

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("bot.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "sl_device"
COOKIE_MAX_AGE = 180 * 86400
MAX_BODY_BYTES = 4096
MAX_PAYLOAD_BYTES = 64
MAX_CLIENT_ID = 40
SSE_PING_SECONDS = 20
SSE_RECHECK_SECONDS = 15  # also look in the queue now and then (another process wrote)
WEBHOOK_MAX_BYTES = 1_000_000
MAX_PAGES_PER_USER = 5  # open streams per resident (tabs, phones)
MAX_OPEN_PAGES = 5000


@dataclass
class WebSettings:
    """The web channel's settings (``[web]`` in the TOML file)."""

    secret: str | None = None  # cookie signing key; None = one kept in the database
    secure_cookie: bool | None = None  # None: when the request came over HTTPS
    user_limit: int = FLOOD_LIMIT  # messages per identity per window (the flood guard's)
    ip_limit: int = FLOOD_LIMIT * 10  # per address: many phones share one (carrier NAT)
    window: float = FLOOD_WINDOW
    retention_days: int = 180  # the conversation log is dropped after this
    telegram_path: str = "/telegram"
    telegram_secret: str | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> WebSettings:
        s = cls()
        for key in ("secret", "telegram_path", "telegram_secret"):
            if isinstance(section.get(key), str):
                setattr(s, key, section[key])
        for key in ("user_limit", "ip_limit", "retention_days"):
            if isinstance(section.get(key), int) and section[key] > 0:
                setattr(s, key, section[key])
        if isinstance(section.get("secure_cookie"), bool):
            s.secure_cookie = section["secure_cookie"]
        return s


class Refused(Exception):
    def __init__(self, status: int, reason: str, template: str) -> None:
        self.status, self.reason, self.template = status, reason, template


class WebApp:
    """Everything the routes share."""

    def __init__(self, app: App, settings: WebSettings, telegram_inbox: Any = None) -> None:
        self.app = app
        self.settings = settings
        self.metrics = Metrics()
        self.metrics.instrument(app)
        self.sender = WebSender(app)
        self.router = ChannelRouter(app)
        self.router.add("web", self.sender)
        self.channel = WebChannel(app, self.sender, self.router)
        self.user_flood = FloodGuard(settings.user_limit, settings.window)
        self.ip_flood = FloodGuard(settings.ip_limit, settings.window)
        # bot.telegram.inbox.TelegramInbox when this server receives Telegram's webhook.
        self.telegram_inbox = telegram_inbox
        self.signer: Signer | None = None
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(
                [
                    str(app.config.templates_dir / app.config.locale / "web"),
                    str(app.config.templates_dir / "zh-CN" / "web"),
                ]
            ),
            autoescape=True,
        )
        self.assets = {p.name: _digest(p) for p in STATIC_DIR.iterdir() if p.is_file()}
        self._page_cache: dict[str, str] = {}
        # This process's notifier becomes the router: Telegram chats through the one
        # there was (if any), web residents through their queue.
        notifier = app.engine.services.notifier
        if notifier is not None and not isinstance(notifier, ChannelRouter):
            self.router.telegram = notifier
        app.engine.services.notifier = self.router

    async def start(self) -> None:
        # The key is kept in the database: every worker signs and reads the same cookies.
        key = self.settings.secret or await self.app.store.web.secret()
        self.signer = Signer(key, salt="sanliang-device")
        # A notice stored by another worker wakes this worker's open pages too.
        await self.app.store.listen("web", self.sender.woken_elsewhere)
        self.csrf_key = hashlib.sha256(("csrf:" + key).encode()).digest()

    # -- identity ------------------------------------------------------------------

    def device_of(self, request: Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw or self.signer is None:
            return None
        try:
            return self.signer.unsign(raw).decode()
        except BadSignature:
            return None

    def set_device(self, request: Request, response: Response, device_id: str) -> None:
        assert self.signer is not None
        secure = self.settings.secure_cookie
        if secure is None:
            secure = request.url.scheme == "https"
        response.set_cookie(
            COOKIE,
            self.signer.sign(device_id).decode(),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )

    def csrf_for(self, device_id: str) -> str:
        return hmac.new(self.csrf_key, device_id.encode(), "sha256").hexdigest()[:32]

    def check_post(self, request: Request) -> str:
        """The device id of a state-changing request that passed the CSRF checks."""
        device = self.device_of(request)
        if device is None:
            raise Refused(403, "identity", "web/reload")
        origin = request.headers.get("origin")
        if origin is not None and origin != _origin_of(request):
            raise Refused(403, "csrf", "web/reload")
        token = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(token, self.csrf_for(device)):
            raise Refused(403, "csrf", "web/reload")
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise Refused(415, "type", "web/reload")
        return device

    def check_rate(self, request: Request, device_id: str) -> None:
        address = request.client.host if request.client else "?"
        # Keyed by a hash: the guards hold no addresses or device ids.
        for guard, k in ((self.ip_flood, address), (self.user_flood, device_id)):
            if guard.check(_key(k)) != FloodGuard.OK:
                raise Refused(429, "rate", "web/slow_down")

    # -- helpers -------------------------------------------------------------------

    def refusal(self, exc: Refused) -> JSONResponse:
        self.metrics.rejected.labels(exc.reason).inc()
        return JSONResponse(
            {"error": exc.reason, "html": self.app.renderer.render(exc.template)},
            status_code=exc.status,
        )

    def page(self, csrf: str) -> str:
        template = self.templates.get_template("page.html")
        return template.render(csrf=csrf, assets=self.assets)


def _key(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise Refused(413, "size", "web/too_long")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, "size", "web/too_long")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise Refused(400, "json", "web/reload") from None
    if not isinstance(data, dict):
        raise Refused(400, "json", "web/reload")
    return data


def _client_id(data: dict[str, Any]) -> str:
    cid = data.get("cid")
    if not isinstance(cid, str) or not 0 < len(cid) <= MAX_CLIENT_ID:
        return ""
    return cid


def build_asgi(
    app: App, settings: WebSettings | None = None, telegram_inbox: Any = None
) -> Starlette:
    """The whole web app for ``app``. ``telegram_inbox``: the durable inbox
    (``bot.telegram.inbox.TelegramInbox``) of the Telegram Application that receives
    its webhook here (optional): an update is answered 200 once it is stored."""
    settings = settings or WebSettings()
    web = WebApp(app, settings, telegram_inbox)

    async def index(request: Request) -> Response:
        device = web.device_of(request)
        fresh = device is None
        if device is None:
            device = secrets.token_urlsafe(18)
        response = HTMLResponse(
            web.page(web.csrf_for(device)),
            headers={"cache-control": "no-store"},
        )
        if fresh:
            web.set_device(request, response, device)
        return response

    async def history(request: Request) -> Response:
        device = web.device_of(request)
        if device is None:
            return JSONResponse({"messages": [], "unread": 0})
        messages, unread = await web.channel.history(device)
        return JSONResponse(
            {"messages": messages, "unread": unread}, headers={"cache-control": "no-store"}
        )

    async def send(request: Request) -> Response:
        try:
            device = web.check_post(request)
            web.check_rate(request, device)
            data = await _json_body(request)
            kw: dict[str, Any] = {"client_id": _client_id(data)}
            if "payload" in data:
                payload, label = data.get("payload"), data.get("label", "")
                if not isinstance(payload, str) or len(payload.encode()) > MAX_PAYLOAD_BYTES:
                    raise Refused(400, "payload", "web/reload")
                kw.update(payload=payload, label=label if isinstance(label, str) else "")
                kw["label"] = kw["label"][:MAX_LABEL_CHARS]
            elif "location" in data:
                loc = data["location"] if isinstance(data["location"], dict) else {}
                where = valid_location(loc.get("lat"), loc.get("lon"))
                if where is None:
                    raise Refused(400, "location", "web/no_location")
                kw["location"] = where
            elif data.get("start") is True:
                if (await web.channel.history(device))[0]:
                    return JSONResponse({"messages": []})  # already under way: nothing to add
                kw.update(text="/start", silent=True)
            else:
                text = data.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise Refused(400, "empty", "web/empty")
                if len(text) > MAX_TEXT_CHARS:
                    raise Refused(413, "size", "web/too_long")
                kw["text"] = text.strip()
        except Refused as exc:
            return web.refusal(exc)
        result = await web.channel.turn(device, **kw)
        response = JSONResponse(
            {
                "messages": result.messages,
                "duplicate": result.duplicate,
                "forgotten": result.forgotten,
            },
            headers={"cache-control": "no-store"},
        )
        if result.forgotten:
            # A new device identity: nothing links this phone to the old one any more.
            web.set_device(request, response, secrets.token_urlsafe(18))
        return response

    async def seen(request: Request) -> Response:
        try:
            device = web.check_post(request)
            data = await _json_body(request)
        except Refused as exc:
            return web.refusal(exc)
        up_to = data.get("up_to")
        user_id = await web.channel.user_for(device, create=False)
        if user_id is None or not isinstance(up_to, int) or isinstance(up_to, bool):
            return JSONResponse({"marked": 0})
        marked = await app.store.web.mark_shown(user_id, up_to)
        return JSONResponse({"marked": marked})

    async def events(request: Request) -> Response:
        device = web.device_of(request)
        user_id = None if device is None else await web.channel.user_for(device, create=False)
        if user_id is None:
            return Response(status_code=204)  # nothing to wait for yet: the page retries
        if (
            web.sender.pages_of(user_id) >= MAX_PAGES_PER_USER
            or web.sender.open_pages() >= MAX_OPEN_PAGES
        ):
            web.metrics.rejected.labels("streams").inc()
            return Response(status_code=429)
        raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        last = int(raw) if raw.isdigit() else 0

        async def stream() -> AsyncIterator[dict[str, Any]]:
            nonlocal last
            async with web.sender.listen(user_id) as flag:
                while True:
                    flag.clear()
                    for message in await web.channel.after(user_id, last):
                        last = message["id"]
                        yield {
                            "event": "message",
                            "id": str(last),
                            "data": json.dumps(message, ensure_ascii=False),
                        }
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(flag.wait(), SSE_RECHECK_SECONDS)

        return EventSourceResponse(
            stream(), ping=SSE_PING_SECONDS, headers={"cache-control": "no-store"}
        )

    async def healthz(request: Request) -> Response:
        try:
            await app.store.schema_version()
            ok = app.content.current is not None
        except Exception as exc:  # noqa: BLE001 - health says no, whatever broke
            log.warning("health check failed: %s", type(exc).__name__)
            ok = False
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        await web.metrics.refresh(app, web.sender.open_pages())
        return Response(web.metrics.text(), media_type="text/plain; version=0.0.4")

    async def telegram_webhook(request: Request) -> Response:
        inbox = web.telegram_inbox
        if inbox is None:
            return Response(status_code=404)
        expected = settings.telegram_secret or ""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not expected or not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > WEBHOOK_MAX_BYTES:
            return Response(status_code=413)
        # 200 only once stored (an error answer makes Telegram send it again); the
        # update is then handled from the store, also after a crash.
        return Response(status_code=await inbox.receive_webhook(body))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await web.start()
        purge = asyncio.ensure_future(_purge_loop(app, settings))
        try:
            yield
        finally:
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge
            web.metrics.close()

    routes = [
        Route("/", index),
        Route("/api/history", history),
        Route("/api/send", send, methods=["POST"]),
        Route("/api/seen", seen, methods=["POST"]),
        Route("/api/events", events),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route(settings.telegram_path, telegram_webhook, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    asgi = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog, metrics=web.metrics),
            Middleware(SecurityHeaders),
            Middleware(GZipMiddleware, minimum_size=500),
        ],
        lifespan=lifespan,
    )
    asgi.state.web = web
    return asgi


async def _purge_loop(app: App, settings: WebSettings) -> None:
    """The conversation log is personal data: drop what is older than the retention."""
    while True:
        try:
            await app.store.web.purge(time.time() - settings.retention_days * 86400)
        except Exception as exc:  # noqa: BLE001 - housekeeping must not stop the app
            log.warning("web log purge failed: %s", type(exc).__name__)
        await asyncio.sleep(6 * 3600)
