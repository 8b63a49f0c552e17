"""Operator commands: ``sanliang backup`` and ``sanliang restore`` (copies of the
database), ``sanliang copy-content`` (a writable copy of the bundled content)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bot.config import config_from
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
    return cmd


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


def cmd_backup(args: argparse.Namespace) -> int:
    cfg = config_from(args)
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
    try:
        version, kept = restore(args.backup, cfg.db_path)
    except (BackupError, OSError) as exc:
        print(f"restore failed: {exc}; the database was not changed", file=sys.stderr)
        return 1
    print(f"restored {args.backup} to {cfg.db_path} (schema version {version})")
    if kept is not None:
        print(f"the replaced database is kept as {kept}")
    return 0
