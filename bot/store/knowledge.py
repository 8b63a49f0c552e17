"""Questions asked, feedback and gaps (policy matching)."""

from __future__ import annotations

from bot.store import Repo


class KnowledgeRepo(Repo):
    pass
