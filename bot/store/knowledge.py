"""Questions asked, feedback and gaps (policy matching)."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Coalescer, Repo, Store, StoreError

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


_QuestionRow = tuple[int | None, str, str, str | None, str, float]
_QUESTION_COLUMNS = "(token, user_id, question, decision, topic_id, candidates, asked_at)"
_QUESTION_ROW = "(?, ?, ?, ?, ?, ?, ?)"


_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})[\s-]?(\d{4})(?!\d)")


_ID_NUMBER_IN_TEXT = re.compile(r"(?<![\dXx])(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")


def redact_phones(text: str) -> str:
    """13812341234 -> 138****1234, 028-12345678 -> 028****5678 and ID card numbers
    510104********1234, inside free text."""
    text = _ID_NUMBER_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


class KnowledgeRepo(Repo):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._log: Coalescer[_QuestionRow, str] = Coalescer(self._insert_questions, limit=64)

    async def log_question(
        self,
        user_id: int | None,
        question: str,
        decision: str,
        candidates: list[tuple[str, float]],
        topic_id: str | None = None,
        at: float | None = None,
    ) -> str:
        """Store one question and return its short token (for feedback buttons).

        Questions asked by several residents at the same moment are stored by one
        statement (see ``Coalescer``)."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        cands = json.dumps([[c, round(float(s), 4)] for c, s in candidates], ensure_ascii=False)
        # Questions are shown to admins in the gap report: a phone number typed into
        # one is kept masked, like everywhere else more than one person looks.
        row = (user_id, redact_phones(question), decision, topic_id, cands, at or time.time())
        return await self._log.submit(row)

    async def _insert_questions(self, rows: list[_QuestionRow]) -> list[str]:
        """One INSERT for all the rows, each with a fresh random token (48 bits). If a
        token happens to be taken the whole statement fails and changes nothing; the
        coalescer then retries each row alone, and a lone row draws new tokens."""
        if len(rows) == 1:
            for _ in range(5):
                token = secrets.token_urlsafe(TOKEN_BYTES)
                n = await self.store.execute(
                    f"INSERT INTO kb_questions {_QUESTION_COLUMNS} VALUES {_QUESTION_ROW}"
                    " ON CONFLICT (token) DO NOTHING",
                    (token, *rows[0]),
                )
                if n == 1:
                    return [token]
            raise StoreError("no free question token after 5 tries")
        tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _ in rows]
        params = [v for token, row in zip(tokens, rows, strict=True) for v in (token, *row)]
        await self.store.execute(
            f"INSERT INTO kb_questions {_QUESTION_COLUMNS} VALUES "
            + ", ".join([_QUESTION_ROW] * len(rows)),
            params,
        )
        return tokens

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

    async def purge_before(self, before: float) -> int:
        """Delete questions (and their feedback) asked before ``before`` (retention)."""
        return await self.store.execute("DELETE FROM kb_questions WHERE asked_at < ?", (before,))

    async def prune(self, older_than_seconds: float) -> int:
        return await self.store.execute(
            "DELETE FROM kb_questions WHERE asked_at < ?", (time.time() - older_than_seconds,)
        )
