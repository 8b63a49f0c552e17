"""Help requests, their status history and messages."""

from __future__ import annotations

from bot.store import Repo


class CaseRepo(Repo):
    pass
