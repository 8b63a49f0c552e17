"""Short crash runs in the suite (the long ones: bench/crash.py): the real
``sanliang run`` against the local Bot API stand-in, SIGKILLed a few seconds after each start
while residents file requests (long polling and webhook) or while an announcement
goes out. Nothing acknowledged is lost, nothing is done twice."""

from __future__ import annotations

import pytest

from bot.telegram.crashtest import run_requests
from bot.telegram.crashtest_broadcast import run_broadcast

pytestmark = pytest.mark.slow(45)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_requests_survive_sigkill(tmp_path, mode):
    figures = run_requests(tmp_path, mode=mode, residents=2, requests=3, seed=7)
    table = figures.table()
    assert figures.kills >= 1, table
    assert figures.problems == [], figures.problems
    assert figures.no_reply == figures.refs_lost == figures.cases_duplicated == 0, table
    assert figures.refs_shown == figures.cases_stored == 3
    # Every card once, except one cut off by SIGKILL in the middle of its send: that row
    # is marked 'unknown' and reported, never resent (at most once, README).
    assert figures.cards_twice == 0, table
    assert figures.cards_missing <= figures.unknown_rows, table
    assert figures.cards_once + figures.cards_missing == figures.cards_expected > 0, table


def test_an_announcement_survives_sigkill_and_sigterm(tmp_path):
    figures = run_broadcast(tmp_path, subscribers=120, kills=2, kill_every=(0.5, 1.5), seed=3)
    assert figures.problems == [], figures.problems
    assert figures.announced_twice == 0, figures.table()
    # At most once per row: a message cut off mid-call by SIGKILL is marked 'unknown'
    # and reported, never resent (it may or may not have reached Telegram).
    assert figures.announced_missing <= figures.unknown_rows <= figures.kills, figures.table()
    assert figures.announced_once + figures.announced_missing == 120
