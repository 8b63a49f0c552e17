"""Staff roles, areas, invite codes and the audit log."""

from __future__ import annotations

from bot.store import Repo


class StaffRepo(Repo):
    pass
