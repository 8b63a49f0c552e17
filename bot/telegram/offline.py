"""An offline stand-in for the Telegram Bot API, for tests and benchmarks.

``BotAPIStub`` answers Bot API methods with canned JSON shaped like Telegram's and
records every call. It is strict where Telegram is strict, so that tests catch what
would fail in production: HTML that Telegram could not parse, messages over 4,096
characters, callback_data over 64 bytes, empty texts.

``OfflineRequest`` plugs the stub into python-telegram-bot as its request object
(``build_application(..., request=OfflineRequest(stub))``); ``tests/`` also serve the
same stub over real HTTP for the end-to-end test.
"""

from __future__ import annotations

import html.parser
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.telegram.offline_commands import ApiError, CommandMenus
from bot.telegram.offline_files import FileMethods

BOT_ID = 7_000_000_001
BOT_USERNAME = "sanliang_test_bot"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_DESCRIPTION = 512
MAX_SHORT_DESCRIPTION = 120

# Telegram's HTML parse mode: these tags and nothing else.
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class _HTMLCheck(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.problem = self.problem or f"unsupported start tag {tag!r}"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"unmatched end tag {tag!r}"
        else:
            self.stack.pop()


def check_telegram_html(text: str) -> str | None:
    """Why Telegram would reject ``text`` in HTML parse mode, or None when it is fine."""
    for m in re.finditer(r"&[^&\s;]*;?", text):
        if not _ENTITY.fullmatch(m.group(0)):
            return f"unsupported entity {m.group(0)!r}"
    if re.search(r"<(?![a-zA-Z/])", text):
        return "unescaped '<'"
    parser = _HTMLCheck()
    parser.feed(text)
    parser.close()
    if parser.problem:
        return parser.problem
    if parser.stack:
        return f"unclosed tag {parser.stack[-1]!r}"
    return None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass
class BotAPIStub(FileMethods, CommandMenus):
    """Canned Bot API answers; thread-safe so an HTTP server can share it."""

    token_ok: bool = True
    username: str = BOT_USERNAME
    # Check texts as Telegram would (HTML, length, callback_data); benchmarks switch it
    # off so that the fake API's own work is not counted as the bot's.
    strict: bool = True
    calls: list[Call] = field(default_factory=list)
    record: bool = True
    # method -> list of (code, description) errors to return on its next calls
    fail_next: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._updates: list[dict[str, Any]] = []
        self._update_ready = threading.Condition(self._lock)
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}  # file_id -> content, for getFile and downloads
        # ("description" | "short_description", language_code or "") -> text
        self.bot_texts: dict[tuple[str, str], str] = {}

    # -- what tests look at --------------------------------------------------

    def sent(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]

    def texts(self) -> list[str]:
        """Texts of sendMessage and editMessageText calls, in order."""
        return [
            c.params["text"]
            for c in self.sent()
            if c.method in ("sendMessage", "editMessageText") and "text" in c.params
        ]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def queue_update(self, update: dict[str, Any]) -> None:
        """For getUpdates (long polling over HTTP)."""
        with self._update_ready:
            self._updates.append(update)
            self._update_ready.notify_all()

    # -- the API ---------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """The ``result`` of a successful call; raises ApiError otherwise."""
        if method == "getUpdates":
            return self._get_updates(params)
        call = Call(method, params)
        with self._lock:
            if self.record:
                self.calls.append(call)
            pending = self.fail_next.get(method)
            if pending:
                code, description = pending.pop(0)
                raise ApiError(code, description)
        if not self.token_ok:
            raise ApiError(401, "Unauthorized")
        handler = getattr(self, f"_m_{method}", None)
        call.result = True if handler is None else handler(params)
        return call.result

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if not self.token_ok:
            raise ApiError(401, "Unauthorized")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, 30)
        with self._update_ready:
            while True:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return list(self._updates[:100])
                self._update_ready.wait(max(0.0, deadline - time.monotonic()))

    def _me(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "三亮助手",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._me()

    def _check_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if not self.strict:
            return text
        if params.get("parse_mode") == "HTML":
            problem = check_telegram_html(text)
            if problem:
                raise ApiError(400, f"Bad Request: can't parse entities: {problem}")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return text

    def _message(self, chat_id: Any, text: str, message_id: int | None = None) -> dict[str, Any]:
        chat_id = int(chat_id)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id > 0:
            chat["first_name"] = "居民"
        else:
            chat["title"] = "群"
        return {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self._me(),
            "text": text,
        }

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = self._check_text(params)
        return self._message(params["chat_id"], text)

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text = self._check_text(params)
        return self._message(params["chat_id"], text, int(params["message_id"]))

    # setMyDescription / setMyShortDescription, within Telegram's limits.
    def _set_text(self, params: dict[str, Any], key: str, limit: int) -> bool:
        text = params.get(key) or ""
        if not isinstance(text, str) or len(text) > limit:
            raise ApiError(400, f"Bad Request: {key} is too long")
        with self._lock:
            self.bot_texts[key, str(params.get("language_code") or "")] = text
        return True

    def _m_setMyDescription(self, params: dict[str, Any]) -> bool:
        return self._set_text(params, "description", MAX_DESCRIPTION)

    def _m_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        return self._set_text(params, "short_description", MAX_SHORT_DESCRIPTION)


def envelope(result: Any = None, error: ApiError | None = None) -> tuple[int, bytes]:
    if error is not None:
        body = {"ok": False, "error_code": error.code, "description": error.description}
        return error.code, json.dumps(body).encode()
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


class OfflineRequest(BaseRequest):
    """A python-telegram-bot request object that talks to a BotAPIStub, no network."""

    def __init__(self, stub: BotAPIStub) -> None:
        self.stub = stub

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/documents/" in url:  # a file download, not an API method
            try:
                return 200, self.stub.download(url)
            except ApiError as exc:
                return envelope(error=exc)
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if request_data is not None and request_data.multipart_data:
            params["_files"] = {
                key: (value[0], value[1], value[2])
                for key, value in request_data.multipart_data.items()
            }
        try:
            return envelope(self.stub.call(api_method, params))
        except ApiError as exc:
            return envelope(error=exc)


class Updates:
    """Real Bot API Update JSON, as Telegram sends it, for tests and benchmarks."""

    def __init__(self, start: int = 1) -> None:
        self._ids = itertools.count(start)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)

    @staticmethod
    def user(user_id: int, first_name: str = "张大爷") -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        }

    @staticmethod
    def chat(chat_id: int, group: bool = False) -> dict[str, Any]:
        if group:
            return {"id": chat_id, "type": "supergroup", "title": "街道居民群"}
        return {"id": chat_id, "type": "private", "first_name": "张大爷"}

    def message(
        self,
        text: str | None,
        user_id: int = 1001,
        *,
        chat_id: int | None = None,
        group: bool = False,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id if chat_id is not None else user_id, group),
            "from": self.user(user_id),
        }
        if text is not None:
            msg["text"] = text
            if entities is None and text.startswith("/"):
                head = text.split(" ", 1)[0]
                entities = [{"type": "bot_command", "offset": 0, "length": len(head)}]
            if entities:
                msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        msg.update(extra)
        return {"update_id": next(self._ids), "message": msg}

    def mention(self, text: str, user_id: int, chat_id: int, username: str = BOT_USERNAME):
        """A group message that starts with @username."""
        full = f"@{username} {text}"
        entity = {"type": "mention", "offset": 0, "length": len(username) + 1}
        return self.message(full, user_id, chat_id=chat_id, group=True, entities=[entity])

    def document(
        self, file_name: str, file_id: str, size: int, user_id: int = 1001
    ) -> dict[str, Any]:
        doc = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "file_size": size,
        }
        return self.message(None, user_id, document=doc)

    def contact(self, phone: str, user_id: int = 1001) -> dict[str, Any]:
        contact = {"phone_number": phone, "first_name": "张大爷", "user_id": user_id}
        return self.message(None, user_id, contact=contact)

    def location(self, lat: float, lon: float, user_id: int = 1001) -> dict[str, Any]:
        return self.message(None, user_id, location={"latitude": lat, "longitude": lon})

    def callback(
        self,
        data: str,
        user_id: int = 1001,
        *,
        message: dict[str, Any] | None = None,
        chat_id: int | None = None,
        group: bool = False,
    ) -> dict[str, Any]:
        """A press of a button with ``data`` on ``message`` (a message the bot sent)."""
        if message is None:
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat(chat_id if chat_id is not None else user_id, group),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "三亮助手"},
                "text": "…",
            }
        return {
            "update_id": next(self._ids),
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": self.user(user_id),
                "chat_instance": "1",
                "message": message,
                "data": data,
            },
        }
