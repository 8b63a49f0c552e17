"""Publishing a content file: check the whole content with the new file in place,
write it atomically, record the version, reload. One change at a time."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.admin import files
from bot.content import Content, Problem, Report

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.store.admin import Version

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """A change checked on a copy of the content: errors, or the snapshot it gives."""

    path: str
    text: str | None
    previous: str | None
    content: Content | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Published:
    ok: bool
    errors: list[Problem] = field(default_factory=list)
    version: Version | None = None
    unchanged: bool = False


class Publisher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Publishing, rollback and /reload change what is served: one at a time.
        self.lock = asyncio.Lock()

    @property
    def root(self):
        return self.engine.content.root

    async def check(self, path: str, text: str | None) -> Checked:
        previous = files.read_current(self.root, path)
        content, report = await asyncio.to_thread(files.check_change, self.root, path, text)
        return Checked(
            path,
            text,
            previous,
            None if report.errors else content,
            report.errors,
            [w for w in report.warnings if w.path == path],
        )

    async def publish(self, path: str, text: str, admin_id: int, kind: str) -> Published:
        async with self.lock:
            previous = files.read_current(self.root, path)
            if previous == text:
                return Published(True, unchanged=True)
            # Checked again under the lock: the content may have changed since the preview.
            checked = await self.check(path, text)
            if not checked.ok:
                return Published(False, checked.errors)
            await asyncio.to_thread(files.write_atomic, self.root, path, text)
            report = await asyncio.to_thread(self.engine.content.reload)
            if report.errors:
                # Something else on disk broke between the check and the reload: put the
                # old file back so the files match what is served.
                await asyncio.to_thread(files.write_atomic, self.root, path, previous)
                return Published(False, report.errors)
            version = await self.engine.store.admin.record_version(
                path, text, admin_id, kind, previous
            )
            log.info("content published: %s version %d", path, version.version)
            return Published(True, version=version)

    async def reload(self) -> Report:
        async with self.lock:
            return await asyncio.to_thread(self.engine.content.reload)


def publisher_of(engine: Engine) -> Publisher:
    pub = engine.services.publisher
    if pub is None:
        pub = Publisher(engine)
        engine.services.publisher = pub
    return pub
