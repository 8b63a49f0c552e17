"""Questions asked, feedback and gaps (policy matching)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Repo

DECISIONS = ("answer", "clarify", "fallback", "none")
TOKEN_BYTES = 6  # 8 URL-safe characters


@dataclass(frozen=True)
class QuestionRecord:
    token: str
    user_id: int | None
    question: str
    decision: str
    topic_id: str | None
    candidates: list[tuple[str, float]]
    feedback: int | None
    asked_at: float
    feedback_at: float | None


def _record(row: Any) -> QuestionRecord:
    try:
        cands = [(str(c[0]), float(c[1])) for c in json.loads(row["candidates"])]
    except (ValueError, TypeError, IndexError, KeyError):
        cands = []
    return QuestionRecord(
        token=row["token"],
        user_id=row["user_id"],
        question=row["question"],
        decision=row["decision"],
        topic_id=row["topic_id"],
        candidates=cands,
        feedback=row["feedback"],
        asked_at=row["asked_at"],
        feedback_at=row["feedback_at"],
    )


class KnowledgeRepo(Repo):
    async def log_question(
        self,
        user_id: int | None,
        question: str,
        decision: str,
        candidates: list[tuple[str, float]],
        topic_id: str | None = None,
        at: float | None = None,
    ) -> str:
        """Store one question and return its short token (for feedback buttons)."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        cands = json.dumps([[c, round(float(s), 4)] for c, s in candidates], ensure_ascii=False)
        async with self.store.tx() as db:
            for _ in range(5):
                token = secrets.token_urlsafe(TOKEN_BYTES)
                cur = await db.execute("SELECT 1 FROM kb_questions WHERE token = ?", (token,))
                if await cur.fetchone() is None:
                    break
            await db.execute(
                "INSERT INTO kb_questions (token, user_id, question, decision, topic_id,"
                " candidates, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token, user_id, question, decision, topic_id, cands, at or time.time()),
            )
        return token

    async def get(self, token: str) -> QuestionRecord | None:
        row = await self.store.fetchone("SELECT * FROM kb_questions WHERE token = ?", (token,))
        return _record(row) if row else None

    async def set_decision(
        self, token: str, user_id: int, decision: str, topic_id: str | None
    ) -> bool:
        """The resident picked a candidate (or 都不是) after a clarify."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        n = await self.store.execute(
            "UPDATE kb_questions SET decision = ?, topic_id = ? WHERE token = ? AND user_id = ?",
            (decision, topic_id, token, user_id),
        )
        return n > 0

    async def set_feedback(self, token: str, user_id: int, helpful: bool) -> bool:
        """Record 有帮助/没帮助 for the resident's own question; False if no such record."""
        n = await self.store.execute(
            "UPDATE kb_questions SET feedback = ?, feedback_at = ? WHERE token = ? AND user_id = ?",
            (1 if helpful else 0, time.time(), token, user_id),
        )
        return n > 0

    async def gaps(self, since: float, limit: int = 500) -> list[QuestionRecord]:
        """Questions since ``since`` (epoch seconds) that went to fallback or 都不是, or whose
        answer was marked 没帮助; newest first."""
        rows = await self.store.fetchall(
            "SELECT * FROM kb_questions WHERE asked_at >= ?"
            " AND (decision IN ('fallback', 'none') OR feedback = 0)"
            " ORDER BY asked_at DESC, id DESC LIMIT ?",
            (since, limit),
        )
        return [_record(r) for r in rows]

    async def stats(self, since: float) -> dict[str, int]:
        """How many questions per decision, and the feedback counts, since ``since``."""
        rows = await self.store.fetchall(
            "SELECT decision, COUNT(*) AS n FROM kb_questions WHERE asked_at >= ? GROUP BY decision",
            (since,),
        )
        out = {r["decision"]: int(r["n"]) for r in rows}
        fb = await self.store.fetchall(
            "SELECT feedback, COUNT(*) AS n FROM kb_questions WHERE asked_at >= ?"
            " AND feedback IS NOT NULL GROUP BY feedback",
            (since,),
        )
        for r in fb:
            out["helpful" if r["feedback"] else "not_helpful"] = int(r["n"])
        return out

    async def forget_user(self, user_id: int) -> int:
        """Delete every question a resident asked (/forget)."""
        return await self.store.execute("DELETE FROM kb_questions WHERE user_id = ?", (user_id,))

    async def prune(self, older_than_seconds: float) -> int:
        return await self.store.execute(
            "DELETE FROM kb_questions WHERE asked_at < ?", (time.time() - older_than_seconds,)
        )
