"""Publishing a content file: check the whole content with the new file in place,
write it atomically, record the version, reload. One change at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import resource
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.admin import files
from bot.content import Content, Problem, Report

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.store.admin import Version

log = logging.getLogger(__name__)

CHECK_SECONDS = 20.0  # a check of an uploaded file that takes longer is stopped
CHECK_MEMORY_BYTES = 2 * 1024**3  # and one that needs more memory than this fails


def check_with_limit(
    root: Path, path: str, text: str | None, seconds: float = CHECK_SECONDS
) -> tuple[Content | None, Report]:
    """``files.check_change`` in a child process that is killed after ``seconds``
    (and limited in memory): a hostile file cannot hang or exhaust the assistant.
    The child sends back the checked snapshot (pickled) and the report."""
    ctx = multiprocessing.get_context("fork")  # the parent's modules, no new imports
    receive, send = ctx.Pipe(duplex=False)
    # The child's copy of the content goes in a folder the parent owns: a child that is
    # killed cannot clean up after itself.
    workdir = Path(tempfile.mkdtemp(prefix="sanliang-upload-"))
    child = ctx.Process(target=_check_child, args=(send, root, path, text, workdir), daemon=True)
    child.start()
    send.close()
    outcome: Any = None
    try:
        if receive.poll(seconds):
            outcome = receive.recv()
        else:
            outcome = f"the check did not finish within {seconds:g} s and was stopped"
    except (EOFError, OSError):
        outcome = "the check stopped without a result (too big or too deep)"
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if isinstance(outcome, tuple):
        content, report = outcome
        if content is None and not report.errors:
            # Checked fine but the snapshot could not be pickled: loading it here is
            # now known to finish.
            return files.check_change(root, path, text)
        return content, report
    report = Report(Path(root))
    report.problems.append(Problem(path, 1, str(outcome)))
    return None, report


def _check_child(send: Any, root: Path, path: str, text: str | None, workdir: Path) -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))
    try:
        content, report = files.check_change(root, path, text, workdir=workdir)
        try:
            send.send((None if report.errors else content, report))
        except Exception:  # noqa: BLE001 - a snapshot that cannot be pickled
            send.send((None, report))
    except MemoryError:
        send.send("the check needed too much memory and was stopped")
    except Exception as exc:  # noqa: BLE001 - whatever breaks, the parent gets a line
        send.send(f"the check failed: {type(exc).__name__}")
    finally:
        send.close()


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
        self.check_seconds = CHECK_SECONDS
        # Publishing, rollback and /reload change what is served: one at a time.
        self.lock = asyncio.Lock()

    @property
    def root(self):
        return self.engine.content.root

    async def check(self, path: str, text: str | None) -> Checked:
        previous = files.read_current(self.root, path)
        content, report = await asyncio.to_thread(
            check_with_limit, self.root, path, text, self.check_seconds
        )
        return Checked(
            path,
            text,
            previous,
            None if report.errors else content,
            report.errors,
            [w for w in report.warnings if w.path == path],
        )

    async def publish(
        self, path: str, text: str, admin_id: int, kind: str, pending: str | None = None
    ) -> Published:
        """Check, record the version, swap the file, reload, then drop the pending
        upload ``pending``. The version is committed before the file is swapped, and
        the pending upload stays until the end: a crash anywhere leaves either the old
        file (发布 again completes it: the recorded version is reused) or the new file
        with its version (发布 again finds nothing to change and drops the upload)."""
        repo = self.engine.store.admin
        async with self.lock:
            previous = files.read_current(self.root, path)
            if previous == text:
                if pending is not None:
                    await repo.delete_pending(pending)
                return Published(True, unchanged=True)
            # Checked again under the lock: the content may have changed since the preview.
            checked = await self.check(path, text)
            if not checked.ok:
                if pending is not None:
                    await repo.delete_pending(pending)
                return Published(False, checked.errors)
            version = await repo.record_version(path, text, admin_id, kind, previous)
            await asyncio.to_thread(files.write_atomic, self.root, path, text)
            report = await asyncio.to_thread(self.engine.content.reload)
            if report.errors:
                # Something else on disk broke between the check and the reload: put the
                # old file back so the files match what is served.
                await asyncio.to_thread(files.write_atomic, self.root, path, previous)
                await repo.drop_version(version)
                return Published(False, report.errors)
            if pending is not None:
                await repo.delete_pending(pending)
            log.info("content published: %s version %d", path, version.version)
        await self.engine.store.notify("reload", path)  # the other worker processes
        return Published(True, version=version)

    async def reload(self) -> Report:
        async with self.lock:
            report = await asyncio.to_thread(self.engine.content.reload)
        if not report.errors:
            await self.engine.store.notify("reload", "")
        return report

    async def reloaded_elsewhere(self, path: str) -> None:
        """Another worker published ``path`` (or reloaded all, path ""): write the text
        it recorded when this worker's copy differs (workers on other machines), then
        reload here. A reload that fails keeps the last good snapshot, as always."""
        async with self.lock:
            text = await self.engine.store.admin.latest_text(path) if path else None
            try:
                if text is not None and files.read_current(self.root, path) != text:
                    await asyncio.to_thread(files.write_atomic, self.root, path, text)
            except files.UploadRejected:
                log.warning("another worker published a file this one does not take")
            report = await asyncio.to_thread(self.engine.content.reload)
        if report.errors:
            log.error("content reload from another worker refused: %d error(s)", len(report.errors))
        else:
            log.info(
                "content reloaded for another worker (version %d)", self.engine.content.version
            )


def publisher_of(engine: Engine) -> Publisher:
    pub = engine.services.publisher
    if pub is None:
        pub = Publisher(engine)
        engine.services.publisher = pub
    return pub
