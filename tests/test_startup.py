"""Start-up checks of the store, through the real command: a damaged file, a schema
newer than the code, a folder that cannot be created or written give one clear line
and an exit code, never a traceback and never a bot that fails every turn."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.store import (
    EXIT_STORE_DAMAGED,
    EXIT_STORE_TOO_NEW,
    EXIT_STORE_UNAVAILABLE,
    Store,
    StoreError,
)

ROOT = Path(__file__).resolve().parents[1]


def sanliang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SANLIANG_LOG_LEVEL": "WARNING"},
    )


def one_clear_line(result: subprocess.CompletedProcess, code: int, words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert words in lines[0], lines[0]


def make_db(path: Path) -> None:
    async def fill() -> None:
        store = await Store.open(path)
        await store.save_turn(7, {"flow": None, "data": {"x": "y" * 3000}}, 1)
        await store.close()

    asyncio.run(fill())


def open_error(path: Path) -> StoreError:
    async def attempt() -> None:
        store = await Store.open(path)
        await store.close()

    with pytest.raises(StoreError) as err:
        asyncio.run(attempt())
    return err.value


async def test_a_good_database_passes_the_check(tmp_path):
    await asyncio.to_thread(make_db, tmp_path / "ok.db")
    store = await Store.open(tmp_path / "ok.db")
    try:
        assert await store.load_state(7) is not None
    finally:
        await store.close()


def test_a_damaged_page_is_refused_at_start(tmp_path):
    db = tmp_path / "bad.db"
    make_db(db)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    # Garbage over the b-tree header of a page in the middle of the file.
    data[2 * page : 2 * page + 64] = os.urandom(64)
    db.write_bytes(bytes(data))
    assert open_error(db).exit_code == EXIT_STORE_DAMAGED
    one_clear_line(sanliang("chat", "--db", str(db)), EXIT_STORE_DAMAGED, "damaged")


def test_not_a_database_at_all(tmp_path):
    db = tmp_path / "text.db"
    db.write_bytes(b"this is not a database" * 500)
    one_clear_line(sanliang("chat", "--db", str(db)), EXIT_STORE_DAMAGED, "damaged")


def test_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "new.db"
    make_db(db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, '0999_future.sql', 0)")
    assert open_error(db).exit_code == EXIT_STORE_TOO_NEW
    one_clear_line(sanliang("chat", "--db", str(db)), EXIT_STORE_TOO_NEW, "newer")
    with sqlite3.connect(db) as conn:  # nothing was changed
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 999


def test_a_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = sanliang("chat", "--db", str(blocker / "sub" / "x.db"))
    one_clear_line(result, EXIT_STORE_UNAVAILABLE, "cannot create the database folder")


def test_a_database_path_that_is_a_folder(tmp_path):
    (tmp_path / "dir.db").mkdir()
    result = sanliang("chat", "--db", str(tmp_path / "dir.db"))
    one_clear_line(result, EXIT_STORE_UNAVAILABLE, "cannot open the database")


@pytest.fixture
def read_only_mount(tmp_path):
    """A real read-only file system (a tmpfs remounted read-only); needs root."""
    point = Path(f"/tmp/sanliang-ro-{uuid.uuid4().hex[:8]}")
    point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        point.rmdir()
        pytest.skip("mounting a read-only file system needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(point)]).returncode != 0:
        point.rmdir()
        pytest.skip("tmpfs cannot be mounted here")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)])
        point.rmdir()


@pytest.mark.slow(8)
def test_a_read_only_file_system(read_only_mount):
    db = read_only_mount / "x.db"
    make_db(db)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    one_clear_line(sanliang("chat", "--db", str(db)), EXIT_STORE_UNAVAILABLE, "writable")
    result = sanliang("chat", "--db", str(read_only_mount / "new" / "x.db"))
    one_clear_line(result, EXIT_STORE_UNAVAILABLE, "Read-only file system")
