"""Reloading content while the assistant runs: /reload (admins) and SIGHUP.

The new content is loaded and checked first; only a snapshot without errors is
swapped in (bot.content.ContentHolder.reload), so a broken edit keeps the last good
version served, and every error is reported as ``path:line: message``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.admin.publish import publisher_of
from bot.content import Problem, Report
from bot.dialog.events import Reply

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.render import Renderer

log = logging.getLogger(__name__)

PROBLEMS_PER_MESSAGE = 30


async def reload_content(engine: Engine) -> Report:
    return await publisher_of(engine).reload()


def problem_chunks(
    problems: Sequence[Problem], size: int = PROBLEMS_PER_MESSAGE
) -> list[list[str]]:
    lines = [str(p) for p in problems]
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def report_replies(renderer: Renderer, report: Report, version: int) -> list[Reply]:
    """What the admin is told after a reload: done, or every error (several messages
    when the list is long)."""
    if not report.errors:
        return [
            Reply(
                renderer.render("admin/reload_ok", version=version, warnings=len(report.warnings))
            )
        ]
    chunks = problem_chunks(report.errors)
    return [
        Reply(
            renderer.render(
                "admin/reload_failed",
                lines=chunk,
                part=i + 1,
                parts=len(chunks),
                total=len(report.errors),
            )
        )
        for i, chunk in enumerate(chunks)
    ]


async def reload_and_tell_admins(engine: Engine) -> Report:
    """The SIGHUP path: reload, log counts only, and tell the admins when a notifier
    (the Telegram adapter's) is there."""
    report = await reload_content(engine)
    if report.errors:
        log.error("content reload refused: %d error(s); last good version kept", len(report.errors))
    else:
        log.info("content reloaded (version %d)", engine.content.version)
    notifier = engine.services.notifier
    admins = list(engine.config.admin_ids) if engine.config is not None else []
    if notifier is not None:
        for reply in report_replies(engine.renderer, report, engine.content.version):
            for admin in admins:
                try:
                    await notifier.send(admin, reply)
                except Exception as exc:  # noqa: BLE001 - one unreachable admin is no reason to stop
                    log.warning("could not tell an admin about the reload: %s", type(exc).__name__)
    return report


def install_sighup(app: Any, loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """Reload content on SIGHUP. ``app`` is a bot.app.App (or the Engine). Call it
    from inside the running event loop (e.g. the Telegram Application's post_init).
    Returns False where the platform has no SIGHUP."""
    engine = getattr(app, "engine", app)
    if not hasattr(signal, "SIGHUP"):
        return False
    loop = loop or asyncio.get_running_loop()
    tasks = engine.services.tasks

    def on_signal() -> None:
        task = loop.create_task(reload_and_tell_admins(engine))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_signal)
    except (NotImplementedError, RuntimeError, ValueError):
        return False
    return True
