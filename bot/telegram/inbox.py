"""Updates in, durably: stored before they are confirmed, handled from the store.

Long polling: a batch from getUpdates is stored (one statement) before the next
getUpdates call confirms it with its offset. Webhook: the HTTP answer is 200 only
once the update is stored (an error answer makes Telegram send it again). Either
way the update is then handled by the Application (the adapter's handlers run the
turn and deliver its replies) and removed from the inbox when that is done.

A process that dies leaves its updates in the inbox. At start-up, ``recover``
handles each again, unless its turn had committed: then only its stored replies
are delivered (the turn never runs twice; the engine also ignores an update id it
handled already).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, TimedOut

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.store import Store

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates call open
CONCURRENCY = 64
STOP_GRACE = 10.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1024 * 1024


def _raw(update: Update) -> tuple[int, str]:
    return update.update_id, json.dumps(update.to_dict(), ensure_ascii=False)


class TelegramInbox:
    def __init__(self, application: Application, store: Store, concurrency: int = CONCURRENCY):
        self.application = application
        self.store = store
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task] = set()
        self.handled = 0
        self.redelivered = 0

    # -- handling ----------------------------------------------------------------

    def _spawn(self, update_id: int, raw: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._handle(update_id, raw))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def receive_and_handle(self, raw: dict[str, Any]) -> None:
        """Store one update, then handle it (what polling and the webhook do, in
        one call; for benchmarks and tests)."""
        update_id = int(raw["update_id"])
        if update_id in await self.store.inbox.receive([(update_id, json.dumps(raw))]):
            await self._handle(update_id, raw)

    async def _handle(self, update_id: int, raw: dict[str, Any]) -> None:
        async with self._slots:
            try:
                update = Update.de_json(raw, self.application.bot)
            except Exception as exc:  # noqa: BLE001 - a malformed update is dropped
                log.warning("an update could not be read: %s", type(exc).__name__)
                update = None
            if update is not None:
                # The adapter's handlers run the turn and deliver its replies; errors
                # go to its error handler, which tells the user.
                await self.application.process_update(update)
            self.store.inbox.done_soon(update_id)
            log.debug("update %d done", update_id)
            self.handled += 1

    async def recover(self) -> tuple[int, int]:
        """What a dead process left: (updates handled again, turns whose stored
        replies were delivered)."""
        from bot.telegram.adapter import channel_of

        again = delivered = 0
        for stored in await self.store.inbox.pending():
            log.debug("recovering update %d (handled: %s)", stored.update_id, stored.handled)
            if stored.handled:
                chat = stored.replies[0].chat_id if stored.replies else None
                if stored.replies and chat is not None:
                    channel = channel_of(self.application)
                    with contextlib.suppress(Exception):
                        await channel.deliver(self.application.bot, stored.replies, chat)
                    delivered += 1
                await self.store.inbox.done(stored.update_id)
            else:
                self._spawn(stored.update_id, stored.raw)
                again += 1
        self.redelivered += delivered
        return again, delivered

    async def wait_idle(self, grace: float = STOP_GRACE) -> None:
        """Let the updates being handled finish and record them as done (on stop,
        before the store closes)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        await self.store.inbox.flush()

    # -- long polling --------------------------------------------------------------

    async def poll(self, stop: asyncio.Event, hold: int = POLL_TIMEOUT) -> None:
        """Long polling until ``stop``; ``hold`` is getUpdates' timeout."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                bot.get_updates(
                    offset=offset,
                    timeout=hold,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=hold + 10,
                )
            )
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not fetch.done():
                fetch.cancel()  # not confirmed: Telegram keeps them for the next start
                with contextlib.suppress(BaseException):
                    await fetch
                break
            try:
                updates = fetch.result()
            except TimedOut:
                continue
            except (InvalidToken, Forbidden, Conflict) as exc:
                log.error("getUpdates refused: %s", type(exc).__name__)
                failures += 1
                await self._pause(stop, failures)
                continue
            except NetworkError as exc:
                log.warning("getUpdates failed: %s", type(exc).__name__)
                failures += 1
                await self._pause(stop, failures)
                continue
            failures = 0
            if not updates:
                continue
            fresh = await self.store.inbox.receive([_raw(u) for u in updates])
            log.debug("stored updates %s, new %s", [u.update_id for u in updates], sorted(fresh))
            # Stored: the next call's offset confirms them to Telegram.
            offset = updates[-1].update_id + 1
            for update in updates:
                if update.update_id in fresh:
                    self._spawn(update.update_id, update.to_dict())

    @staticmethod
    async def _pause(stop: asyncio.Event, failures: int) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), min(2.0**failures, 60.0))

    # -- webhook ---------------------------------------------------------------------

    async def receive_webhook(self, body: bytes) -> int:
        """One webhook call: the HTTP status to answer (200 only once stored)."""
        try:
            data = json.loads(body)
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            return 400  # not an update: Telegram would not send this
        fresh = await self.store.inbox.receive([(update_id, body.decode("utf-8"))])
        if update_id in fresh:
            self._spawn(update_id, data)
        return 200

    async def serve_webhook(
        self,
        stop: asyncio.Event,
        *,
        listen: str,
        port: int,
        url_path: str,
        webhook_url: str,
        secret: str | None,
    ) -> None:
        """A small tornado server (python-telegram-bot's own webhook answers 200
        before the update is handled; this one after it is stored)."""
        import tornado.httpserver
        import tornado.web

        inbox = self

        class Handler(tornado.web.RequestHandler):
            async def post(self) -> None:
                if secret and self.request.headers.get(SECRET_HEADER) != secret:
                    self.set_status(403)
                    return
                if len(self.request.body) > MAX_BODY:
                    self.set_status(413)
                    return
                try:
                    status = await inbox.receive_webhook(self.request.body)
                except Exception as exc:  # noqa: BLE001 - not stored: Telegram resends
                    log.error("webhook update not stored: %s", type(exc).__name__)
                    status = 500
                self.set_status(status)

            def log_exception(self, *args: Any) -> None:  # no request bodies in the log
                log.error("webhook handler error")

        path = "/" + url_path.strip("/")
        app = tornado.web.Application([(path, Handler)], log_function=lambda handler: None)
        server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY)
        server.listen(port, address=listen)
        try:
            await self.application.bot.set_webhook(
                url=webhook_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            await stop.wait()
        finally:
            server.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.close_all_connections(), 5)
