"""Operator commands: ``sanliang backup`` and ``sanliang restore`` (copies of the
database), ``sanliang copy-content`` (a writable copy of the bundled content)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bot.config import config_from
from bot.store.backends import is_url, redact
from bot.store.backup import BackupError, backup, human_size, restore


def add_parser(
    subparsers: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    cmd = subparsers.add_parser(
        "backup",
        help="copy the database while the bot runs",
        description="Copy the database with SQLite's online backup (safe while the bot runs), "
        "check the copy (quick_check) and print its size. DEST is a file, or a directory "
        "(an existing one, or a path ending in /) for dated copies sanliang-YYYYMMDD-HHMMSS.db "
        "(UTC). Copies contain personal data and are readable by their owner only. "
        "Exit 1 when the copy cannot be made or fails its check.",
    )
    common(cmd)
    cmd.add_argument("dest", metavar="DEST", help="backup file or directory")
    cmd.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="with a directory: keep only the newest N copies",
    )
    cmd.set_defaults(func=cmd_backup)

    res = subparsers.add_parser(
        "restore",
        help="put a backup in place of the database (bot stopped)",
        description="Check BACKUP (quick_check, schema version) and put it in place of the "
        "database. Stop the bot first. The replaced database is kept beside it as "
        "<db>.replaced-<time>; the next start applies any newer migrations.",
    )
    common(res)
    res.add_argument("backup", metavar="BACKUP", help="a file made by `sanliang backup`")
    res.set_defaults(func=cmd_restore)

    copy = subparsers.add_parser(
        "copy-content",
        help="copy the bundled content to a directory admins can publish into",
        description="Copy policy_texts/, intents/ and templates/ of this installation into "
        "DIR, for SANLIANG_CONTENT_DIR: files admins send to the bot are published there "
        "(the installed package itself is read-only under the systemd unit). Refuses a DIR "
        "that already has content.",
    )
    copy.add_argument("dir", metavar="DIR")
    copy.set_defaults(func=cmd_copy_content)

    db = subparsers.add_parser("db", help="move the database to another backend")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbcopy = db_sub.add_parser(
        "copy",
        help="copy every table into an empty database (SQLite file or PostgreSQL URL)",
        description="Copy every table of SRC into DST, an empty database (both are migrated "
        "to this version first), then compare the row counts of every table. Stop the bot "
        "first. Example: sanliang db copy --from sanliang.db --to postgresql://sanliang@db/sanliang. "
        "Exit 1 when a count differs or the target is not empty.",
    )
    dbcopy.add_argument("--from", dest="source", required=True, metavar="SRC")
    dbcopy.add_argument("--to", dest="target", required=True, metavar="DST")
    dbcopy.set_defaults(func=cmd_db_copy)
    return cmd


def cmd_db_copy(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from bot.store import StoreError
    from bot.store.copy import copy_database

    if not is_url(args.source) and not Path(args.source).is_file():
        print(f"db copy: no database at {args.source}", file=sys.stderr)
        return 1
    try:
        result = asyncio.run(copy_database(args.source, args.target, say=print))
    except StoreError as exc:
        print(f"db copy: {exc}", file=sys.stderr)
        return 1
    shown = redact(args.target)
    if not result.ok:
        print(f"db copy: row counts differ in {shown}; do not switch to it", file=sys.stderr)
        return 1
    print(
        f"copied {result.rows} rows in {len(result.tables)} tables to {shown}"
        f" in {result.seconds:.1f} s; every count matches"
    )
    return 0


def cmd_copy_content(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from bot.config import CONTENT_FOLDERS, bundled_content

    source, dest = bundled_content(), Path(args.dir)
    there = [name for name in CONTENT_FOLDERS if (dest / name).exists()]
    if there:
        print(
            f"copy-content: {dest} already has {', '.join(there)}; nothing copied", file=sys.stderr
        )
        return 1
    for name in CONTENT_FOLDERS:
        shutil.copytree(source / name, dest / name)
    print(f"copied the content of sanliang {_version()} from {source} to {dest}")
    return 0


def _version() -> str:
    from bot import __version__

    return __version__


def _postgres(path: str, what: str) -> bool:
    """A PostgreSQL store is backed up with the server's tools (docs/deploy)."""
    if not is_url(path):
        return False
    print(
        f"{what}: the database is PostgreSQL ({redact(path)}); use pg_dump / pg_restore"
        " (docs/deploy-postgresql.md)",
        file=sys.stderr,
    )
    return True


def cmd_backup(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    if _postgres(cfg.db_path, "backup"):
        return 1
    try:
        result = backup(cfg.db_path, args.dest, args.keep)
    except (BackupError, OSError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    line = (
        f"backup: {result.path} {human_size(result.size)} ({result.size} bytes), "
        f"quick_check ok, schema version {result.schema_version}"
    )
    if result.removed:
        line += f"; removed {len(result.removed)} older"
    print(line)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    if _postgres(cfg.db_path, "restore"):
        return 1
    try:
        version, kept = restore(args.backup, cfg.db_path)
    except (BackupError, OSError) as exc:
        print(f"restore failed: {exc}; the database was not changed", file=sys.stderr)
        return 1
    print(f"restored {args.backup} to {cfg.db_path} (schema version {version})")
    if kept is not None:
        print(f"the replaced database is kept as {kept}")
    return 0
