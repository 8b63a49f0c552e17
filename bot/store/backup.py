"""Backups of the database while the bot runs, and restoring one.

``backup`` copies the database with SQLite's online backup API (a consistent snapshot
even while the bot writes: in WAL mode the copy is one read transaction and never
blocks the bot), into a temporary file beside the destination, runs ``quick_check`` on
the copy, switches it to a single-file journal, and only then renames it into place.
Into a directory it writes ``sanliang-YYYYMMDD-HHMMSS.db`` and keeps the newest
``keep`` of them. Copies hold personal data: they are readable by their owner only.

``restore`` puts a checked backup in place of the database (with the bot stopped) and
keeps the database it replaces beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

BACKUP_NAME = re.compile(r"^sanliang-(\d{8}-\d{6})(?:-(\d+))?\.db$")


class BackupError(Exception):
    """A backup or restore that could not be made; nothing was replaced."""


@dataclass
class BackupResult:
    path: Path
    size: int
    schema_version: int
    removed: list[Path] = field(default_factory=list)


def _connect_existing(path: Path, readonly: bool) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    mode = "ro" if readonly else "rw"
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open: {exc}") from None


def check_database(path: Path) -> int:
    """``quick_check`` of a sanliang database file; its schema version. BackupError when
    it is damaged or not a sanliang database."""
    conn = _connect_existing(path, readonly=True)
    try:
        (result,) = conn.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise BackupError(f"{path}: quick_check failed: {result}")
        try:
            (version,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            ).fetchone()
        except sqlite3.Error:
            raise BackupError(f"{path}: not a sanliang database (no schema_version)") from None
        return int(version)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a usable database: {exc}") from None
    finally:
        conn.close()


def _copy(source: Path, target_tmp: Path) -> None:
    src = _connect_existing(source, readonly=True)
    try:
        fd = os.open(target_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target_tmp)
        try:
            src.backup(dst)
            # The copy is one self-contained file, whatever journal the original uses.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"copying {source} failed: {exc}") from None
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db_path: str | Path, dest: str | Path, keep: int | None = None) -> BackupResult:
    """Copy the database at ``db_path`` to ``dest`` (a file, or a directory for dated
    copies, pruned to the newest ``keep``)."""
    source = Path(db_path)
    into_dir = str(dest).endswith(("/", os.sep)) or Path(dest).is_dir()
    dest = Path(dest)
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    if into_dir:
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        # Copies of the same second are numbered after the last one, so that the name
        # order stays the order in which they were made (pruning relies on it).
        taken = [
            int(m.group(2) or 0)
            for m in map(BACKUP_NAME.match, (p.name for p in dest.iterdir()))
            if m and m.group(1) == stamp
        ]
        n = max(taken) + 1 if taken else 0
        target = dest / (f"sanliang-{stamp}-{n}.db" if n else f"sanliang-{stamp}.db")
    else:
        if keep is not None:
            raise BackupError("--keep needs a directory as the destination")
        target = dest
        target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise BackupError("the destination is the database itself")
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        _copy(source, tmp)
        version = check_database(tmp)
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    removed = prune(target.parent, keep) if into_dir and keep else []
    return BackupResult(target, target.stat().st_size, version, removed)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` dated backups in ``directory``."""
    dated = []
    for path in directory.iterdir():
        m = BACKUP_NAME.match(path.name)
        if m:
            dated.append((m.group(1), int(m.group(2) or 0), path))
    copies = [path for _stamp, _n, path in sorted(dated)]
    old = copies[:-keep] if keep else []
    for path in old:
        path.unlink()
    return old


def restore(backup_path: str | Path, db_path: str | Path) -> tuple[int, Path | None]:
    """Put the backup in place of the database at ``db_path``; the bot must be stopped.
    The replaced database (with its -wal file, if any) is kept as
    ``<db>.replaced-<time>``. Returns the backup's schema version and that path."""
    from bot.store import _migrations

    source = Path(backup_path)
    db = Path(db_path)
    version = check_database(source)
    known = len(_migrations())
    if version > known:
        raise BackupError(
            f"{source} has schema version {version}, this sanliang knows {known}: "
            "install the release the backup was made with (or a newer one)"
        )
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.restore-{os.getpid()}")
    try:
        _copy(source, tmp)
        check_database(tmp)
        _fsync(tmp)
        kept = None
        if db.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
            kept = db.with_name(f"{db.name}.replaced-{stamp}")
            os.replace(db, kept)
            for suffix in ("-wal", "-shm"):
                side = db.with_name(db.name + suffix)
                if side.exists():
                    os.replace(side, kept.with_name(kept.name + suffix))
        os.replace(tmp, db)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return version, kept


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
