"""sanliang backup / restore: online copies while the app writes, checked, pruned, and
restored as the README says (bot stopped, `sanliang restore`, start again)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.app import open_app
from bot.cli import main
from bot.config import PROJECT_ROOT, Config
from bot.content import ContentHolder
from bot.dialog.events import Event
from bot.store.backup import BackupError, backup, check_database, prune, restore
from tests.staff_support import _bundled


async def talk(app, users: range) -> None:
    """Each user's turn: the engine answers, and the store saves that user's state."""
    for user in users:
        await app.engine.handle(Event(user_id=user, chat_id=user, text="/start"))
        await app.store.save_turn(user, {"flow": "test", "step": str(user)}, update_id=user)


def conversations(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT user_id FROM conversations")}
    finally:
        conn.close()


async def test_backup_while_the_app_writes(tmp_path, bundled_content):
    db = tmp_path / "live.db"
    app = await open_app(
        Config(db_path=str(db), content_dir=PROJECT_ROOT),
        ContentHolder(PROJECT_ROOT, bundled_content),
    )
    try:
        await talk(app, range(1, 21))
        # Copies taken while other residents keep talking: each is a consistent snapshot.
        writer = asyncio.create_task(talk(app, range(100, 160)))
        results = [await asyncio.to_thread(backup, db, tmp_path / "copies/") for _ in range(3)]
        await writer
        seen = [conversations(r.path) for r in results]
        for users in seen:
            assert set(range(1, 21)) <= users
        assert seen[0] <= seen[1] <= seen[2]
        assert conversations(db) == set(range(1, 21)) | set(range(100, 160))
    finally:
        await app.close()
    check_copies(results)


def check_copies(results) -> None:
    for r in results:
        assert r.size == r.path.stat().st_size > 0
        assert r.schema_version == check_database(r.path) >= 1
        assert stat.S_IMODE(r.path.stat().st_mode) == 0o600  # personal data inside
        # One self-contained file: no journal beside it, not in WAL mode.
        assert not Path(f"{r.path}-wal").exists()
        conn = sqlite3.connect(r.path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        conn.close()


def test_backup_command_prints_size_and_keeps_the_newest(tmp_path, capsys):
    db = tmp_path / "s.db"
    asyncio.run(_make_db(db, range(1, 4)))
    out_dir = tmp_path / "backups"
    for _ in range(4):
        assert main(["backup", "--db", str(db), f"{out_dir}/", "--keep", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all("quick_check ok" in line for line in lines)
    assert "KB" in lines[0] and "removed 1 older" in lines[-1]
    kept = sorted(p.name for p in out_dir.iterdir())
    assert len(kept) == 2
    # The two kept are the two made last.
    made = [line.split()[1] for line in lines]
    assert sorted(Path(p).name for p in made[-2:]) == kept


def test_prune_orders_copies_of_the_same_second(tmp_path):
    for name in (
        "sanliang-20261201-090733.db",
        "sanliang-20261201-090733-1.db",
        "sanliang-20261201-090733-2.db",
        "sanliang-20261130-235959.db",
        "other.db",
    ):
        (tmp_path / name).write_bytes(b"")
    removed = prune(tmp_path, 2)
    assert sorted(p.name for p in removed) == [
        "sanliang-20261130-235959.db",
        "sanliang-20261201-090733.db",
    ]
    assert (tmp_path / "other.db").exists()


def test_backup_refuses_what_it_cannot_do(tmp_path, capsys):
    assert main(["backup", "--db", str(tmp_path / "none.db"), str(tmp_path / "x.db")]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
    db = tmp_path / "s.db"
    asyncio.run(_make_db(db, range(1, 2)))
    with pytest.raises(BackupError):
        backup(db, tmp_path / "one.db", keep=3)  # --keep only for a directory
    with pytest.raises(BackupError):
        backup(db, db)


async def _make_db(db: Path, users: range) -> None:
    config = Config(db_path=str(db), content_dir=PROJECT_ROOT)
    app = await open_app(config, ContentHolder(PROJECT_ROOT, _bundled()))
    try:
        await talk(app, users)
    finally:
        await app.close()


@pytest.mark.slow(5)
def test_restore_as_documented(tmp_path, capsys):
    db = tmp_path / "sanliang.db"
    asyncio.run(_make_db(db, range(1, 6)))
    assert main(["backup", "--db", str(db), f"{tmp_path}/backups/"]) == 0
    copy = capsys.readouterr().out.split()[1]
    asyncio.run(_make_db(db, range(6, 11)))  # later turns, lost with the restore
    assert conversations(db) == set(range(1, 11))

    assert main(["restore", "--db", str(db), copy]) == 0
    out = capsys.readouterr().out
    assert conversations(db) == set(range(1, 6))
    replaced = Path(out.split("kept as ")[1].strip())
    assert conversations(replaced) == set(range(1, 11))
    # The restored database starts and serves as before.
    asyncio.run(_make_db(db, range(20, 21)))
    assert conversations(db) == set(range(1, 6)) | {20}


def test_restore_refuses_a_bad_backup_and_changes_nothing(tmp_path, capsys):
    db = tmp_path / "sanliang.db"
    asyncio.run(_make_db(db, range(1, 3)))
    before = db.read_bytes()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    future = tmp_path / "future.db"
    backup(db, future)
    conn = sqlite3.connect(future)
    conn.execute("INSERT INTO schema_version VALUES (999, '0999_future.sql', 0)")
    conn.commit()
    conn.close()
    for bad, why in (
        (garbage, "not a usable database"),
        (empty, "not a sanliang database"),
        (future, "schema version 999"),
        (tmp_path / "missing.db", "no database"),
    ):
        assert main(["restore", "--db", str(db), str(bad)]) == 1
        err = capsys.readouterr().err
        assert why in err and "not changed" in err, err
    assert db.read_bytes() == before
    assert not list(tmp_path.glob("sanliang.db.replaced-*"))
    with pytest.raises(BackupError):
        restore(garbage, db)


def test_copy_content_gives_a_complete_writable_copy(tmp_path, capsys):
    dest = tmp_path / "content"
    assert main(["copy-content", str(dest)]) == 0
    assert main(["check", "--content", str(dest)]) == 0
    assert (dest / "policy_texts" / "dibao.md").read_text(encoding="utf-8") == (
        PROJECT_ROOT / "policy_texts" / "dibao.md"
    ).read_text(encoding="utf-8")
    # A second copy over the first is refused: an admin's published files are never lost.
    (dest / "policy_texts" / "dibao.md").write_text("edited", encoding="utf-8")
    assert main(["copy-content", str(dest)]) == 1
    assert (dest / "policy_texts" / "dibao.md").read_text(encoding="utf-8") == "edited"
