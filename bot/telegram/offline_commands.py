"""The offline Bot API's command menus (setMyCommands, deleteMyCommands,
getMyCommands) by scope, as Telegram keeps them: the default, all private chats, all
group chats, and one per chat (BotCommandScopeChat, kept as ``chat:<chat id>``).
Mixed into ``bot.telegram.offline.BotAPIStub``."""

from __future__ import annotations

import json
import re
import threading
from typing import Any


class ApiError(Exception):
    """A refused call (code and description, as the Bot API answers)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class CommandMenus:
    commands: dict[str, list[dict[str, Any]]]
    _lock: threading.Lock

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        for c in commands or []:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]) or not (
                1 <= len(c["description"]) <= 256
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self.commands[_scope_key(params.get("scope"))] = list(commands or [])
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.commands.pop(_scope_key(params.get("scope")), None)
        return True

    def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return self.commands.get(_scope_key(params.get("scope")), [])


def _scope_key(raw: Any) -> str:
    """``default``, ``all_private_chats`` ...; a chat's own menu (BotCommandScopeChat)
    is ``chat:<chat id>``: Telegram keeps one per chat."""
    scope = json.loads(raw) if isinstance(raw, str) else raw or {"type": "default"}
    if scope.get("type") == "chat":
        return f"chat:{int(scope['chat_id'])}"
    return str(scope.get("type") or "default")
