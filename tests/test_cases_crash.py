"""Crash test: a process submitting 200 requests is SIGKILLed at a random point.

After a restart every reference number it printed exists with its full content,
no request exists twice, and the submitter resumes and finishes the rest."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from bot.config import PROJECT_ROOT
from bot.store import Store
from tests.cases_submitter import expected

TOTAL = 200


def run_until_killed(db: str, kill_after: int, delay: float) -> list[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cases_submitter", db, "0", str(TOTAL)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    printed: list[tuple[str, int]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            ref, i = line.split()
            printed.append((ref, int(i)))
            if len(printed) >= kill_after:
                time.sleep(delay)  # land somewhere inside a later turn
                break
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for line in rest.splitlines():  # printed before the kill took effect
        ref, i = line.split()
        printed.append((ref, int(i)))
    assert proc.returncode == -signal.SIGKILL or len(printed) == TOTAL, err
    return printed


async def check_db(db: str, printed: list[tuple[str, int]], total: int | None = None) -> None:
    store = await Store.open(db)
    try:
        row = await store.fetchone("PRAGMA integrity_check")
        assert row[0] == "ok"
        for ref, i in printed:
            case = await store.cases.get_by_ref(ref)
            assert case is not None, ref
            e = expected(i)
            got = {
                "user_id": case.user_id,
                "category": case.category,
                "city": case.region_city,
                "district": case.region_district,
                "township": case.region_township,
                "village": case.region_village,
                "description": case.description,
                "phone": case.phone,
            }
            assert got == e, (ref, got, e)
            assert case.status == "new" and case.contact_time == "any"
            history = await store.cases.history(case.id)
            assert [h.to_status for h in history] == ["new"]
        dupes = await store.fetchall(
            "SELECT description, COUNT(*) AS n FROM cases GROUP BY description HAVING n > 1"
        )
        assert not dupes, [tuple(r) for r in dupes]
        dupes = await store.fetchall(
            "SELECT user_id, COUNT(*) AS n FROM cases GROUP BY user_id HAVING n > 1"
        )
        assert not dupes, [tuple(r) for r in dupes]
        n = await store.cases.count()
        assert n >= len({ref for ref, _ in printed})
        if total is not None:
            assert n == total
    finally:
        await store.close()


@pytest.mark.slow(25)
def test_sigkill_loses_and_duplicates_nothing(tmp_path):
    db = str(tmp_path / "crash.db")
    rng = random.Random()
    kill_after = rng.randint(1, TOTAL - 20)
    printed = run_until_killed(db, kill_after, rng.uniform(0, 0.02))
    refs = [ref for ref, _ in printed]
    assert len(refs) == len(set(refs))
    assert [i for _, i in printed] == list(range(len(printed)))
    asyncio.run(check_db(db, printed))

    # Restart: the submitter resumes where it was and finishes the rest.
    start = len(printed)
    out = subprocess.run(
        [sys.executable, "-m", "tests.cases_submitter", db, str(start), str(TOTAL - start)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    more = [(ref, int(i)) for ref, i in (line.split() for line in out.stdout.splitlines())]
    everything = printed + more
    assert [i for _, i in everything] == list(range(TOTAL))
    assert len({ref for ref, _ in everything}) == TOTAL
    asyncio.run(check_db(db, everything, total=TOTAL))
