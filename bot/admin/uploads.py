"""Content uploads, previews, publishing and versions: a file an admin sends is
checked on a copy of the content and previewed; nothing changes until 发布.
/reload, /history TOPIC, /rollback TOPIC VERSION."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from markupsafe import Markup

from bot.admin import files
from bot.admin.auth import is_admin
from bot.admin.publish import Checked, publisher_of
from bot.admin.reload import problem_chunks, reload_content, report_replies
from bot.calendar import fmt_when
from bot.dialog.flow import StaleButton, Turn
from bot.knowledge.answer import answer_reply
from bot.store.admin import PENDING_TTL_SECONDS

if TYPE_CHECKING:
    from bot.content import Content, Problem

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")

_when = fmt_when


def regions_of(content: Content) -> list[str]:
    channels = content.parts.get("channels")
    regions = getattr(channels, "regions", None) or {}
    return [str(r) for r in regions]


def topic_ids(content: Content) -> set[str]:
    kb = content.parts.get("knowledge")
    return set(getattr(kb, "topics", {}) or {})


def _topic_id_of(path: str) -> str | None:
    if path.startswith(files.POLICY_DIR + "/") and path.endswith(".md") and path.count("/") == 1:
        return path[len(files.POLICY_DIR) + 1 : -3]
    return None


def resolve_name(content: Content, name: str) -> str | None:
    """A topic id, an uploaded file's name, or a content path -> the content path."""
    name = name.strip()
    if _TOPIC_ID.match(name):
        return f"{files.POLICY_DIR}/{name}.md"
    if "/" in name:
        try:
            files.safe_path(content.root, name)
        except files.UploadRejected:
            return None
        return name
    try:
        return files.target_for(content.root, name, topic_ids(content))
    except files.UploadRejected:
        return None


# -- previews -------------------------------------------------------------------


def answer_preview(turn: Turn, content: Content, topic_id: str) -> str | None:
    """The topic as residents will see it, from the checked (not yet served) content."""
    kb = content.parts.get("knowledge")
    topic = getattr(kb, "topics", {}).get(topic_id) if kb is not None else None
    if kb is None or topic is None:
        return None
    return answer_reply(turn.r, kb, topic).text


def _problem_lines(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def say_errors(turn: Turn, path: str, errors: list[Problem]) -> None:
    chunks = problem_chunks(errors)
    for i, chunk in enumerate(chunks):
        turn.say(
            "admin/check_failed",
            path=path,
            lines=chunk,
            part=i + 1,
            parts=len(chunks),
            total=len(errors),
        )


async def preview_change(
    turn: Turn, path: str, text: str, kind: str, version: int | None = None
) -> None:
    """Check the change on a copy of the content; on errors list them and keep
    everything as it is; else show the preview with 发布 / 取消."""
    checked: Checked = await publisher_of(turn.engine).check(path, text)
    if not checked.ok:
        say_errors(turn, path, checked.errors)
        return
    if checked.previous == text:
        turn.say("admin/no_change", path=path)
        return
    token = await turn.store.admin.add_pending(turn.user_id, path, text, kind)
    topic = _topic_id_of(path)
    if topic is not None and checked.content is not None:
        answer = answer_preview(turn, checked.content, topic)
        if answer:
            turn.say("admin/preview_answer", answer=Markup(answer))  # noqa: S704 - our own render
    turn.say(
        "admin/preview",
        [
            [
                turn.button("admin.publish", f"adm:pub:{token}"),
                turn.button("admin.cancel", f"adm:drop:{token}"),
            ]
        ],
        path=path,
        kind=kind,
        version=version,
        new_file=checked.previous is None,
        diff=files.short_diff(checked.previous, text, path),
        warnings=_problem_lines(checked.warnings[:10]),
        more_warnings=max(0, len(checked.warnings) - 10),
    )


# -- publish / drop a previewed change


async def decide(turn: Turn, action: str, token: str) -> None:
    if not _TOKEN.match(token):
        raise StaleButton(token)
    repo = turn.store.admin
    pending = await repo.get_pending(token)
    if pending is None or pending.admin_id != turn.user_id:
        raise StaleButton(token)
    if action == "drop":
        if await repo.take_pending(token) is None:
            raise StaleButton(token)
        turn.say("admin/dropped", path=pending.path)
        return
    if pending.created_at < time.time() - PENDING_TTL_SECONDS:
        await repo.delete_pending(token)
        raise StaleButton(token)
    # The pending upload stays until the publish committed (see Publisher.publish).
    await publish(turn, pending.path, pending.text, pending.kind, pending=token)


async def publish(turn: Turn, path: str, text: str, kind: str, pending: str | None = None) -> bool:
    result = await publisher_of(turn.engine).publish(
        path, text, turn.user_id, kind, pending=pending
    )
    if result.unchanged:
        turn.say("admin/no_change", path=path)
        return True
    if not result.ok:
        say_errors(turn, path, result.errors)
        return False
    turn.say(
        "admin/published",
        path=path,
        version=result.version.version if result.version else None,
        content_version=turn.engine.content.version,
    )
    return True


async def cmd_reload(turn: Turn, arg: str) -> None:
    report = await reload_content(turn.engine)
    for reply in report_replies(turn.r, report, turn.engine.content.version):
        turn.add(reply)


async def cmd_history(turn: Turn, arg: str) -> None:
    path = resolve_name(turn.content, arg) if arg else None
    if path is None:
        turn.say("admin/history_usage")
        return
    versions = await turn.store.admin.versions(path)
    rows = [
        {
            "n": v.version,
            "who": v.author_id,
            "when": _when(v.created_at),
            "kind": v.kind,
        }
        for v in versions
    ]
    turn.say("admin/history", path=path, versions=rows)


async def cmd_rollback(turn: Turn, arg: str) -> None:
    parts = arg.split()
    path = resolve_name(turn.content, parts[0]) if len(parts) == 2 else None
    if path is None or not parts[1].isdigit() or len(parts[1]) > 6:
        turn.say("admin/rollback_usage")
        return
    version = await turn.store.admin.version(path, int(parts[1]))
    if version is None:
        turn.say("admin/rollback_unknown", path=path, number=parts[1])
        return
    await preview_change(turn, path, version.text, "rollback", version=version.version)


async def on_document(turn: Turn) -> None:
    engine = turn.engine
    doc = turn.event.document
    if doc is None or turn.event.is_group or not await is_admin(engine, turn.user_id):
        await engine.say_unsupported(turn)
        return
    try:
        path = files.target_for(turn.content.root, doc.file_name, topic_ids(turn.content))
        if doc.size is not None and doc.size > files.MAX_UPLOAD_BYTES:
            raise files.UploadRejected("too_big", limit_kb=files.MAX_UPLOAD_BYTES // 1024)
        text = files.decode_upload(doc.data)
    except files.UploadRejected as exc:
        turn.say(
            "admin/upload_rejected",
            reason=exc.reason,
            file_name=(doc.file_name or "")[:80],
            **exc.context,
        )
        return
    await preview_change(turn, path, text, "upload")
