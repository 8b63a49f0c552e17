"""Admin tools in the conversation, and announcement subscriptions for residents.

Admin commands (checked on the server every time; anyone else gets the ordinary
unknown-command reply): /admin (this list), /reload, /history TOPIC, /rollback TOPIC VERSION,
/gaps [YYYY-MM-DD], /announce. A content file sent by an admin is checked and
previewed; nothing changes until 发布.

Payloads (prefix ``adm``, admins only; anything else is a stale button):
  adm:pub:<token>         publish a previewed change (stored in the DB)
  adm:drop:<token>        drop it
  adm:gap:<n>             add gap group n's question: choose the topic
  adm:gcat:<n>            ... from the categories
  adm:gcs:<n>:<k>         ... category k's topics
  adm:gadd:<n>:<topic>    add it to the topic's example questions and publish
  adm:bcr:*|<市州>         announcement: to all subscribers, or one region's
  adm:bcok:<token>        send the previewed announcement
  adm:bcno                cancel it
Residents (prefix ``sub``): sub:pick, sub:all, sub:r:<市州>, sub:off.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from bot.admin import files
from bot.admin.auth import is_admin
from bot.admin.broadcast import announcement_reply
from bot.admin.gaps import gap_report, since_timestamp
from bot.admin.publish import Checked, publisher_of
from bot.admin.reload import problem_chunks, reload_content, report_replies
from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.dialog.state import Conversation
from bot.outbox import sender_of
from bot.store.admin import PENDING_TTL_SECONDS

if TYPE_CHECKING:
    from bot.content import Content, Problem
    from bot.dialog.engine import Engine

GAPS_SHOWN = 8
MAX_ANNOUNCE_CHARS = 3000
REGIONS_PER_ROW = 3
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_INDEX = re.compile(r"^\d{1,2}$")


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d %H:%M")


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
    if topic is None:
        return None
    try:
        from bot.knowledge.dialog import topic_reply
    except ImportError:
        topic_reply = None
    if topic_reply is not None:
        shadow = Turn(turn.engine, turn.event, Conversation())
        shadow.content = content
        topic_reply(shadow, topic)
        if shadow.replies:
            return shadow.replies[0].text
    first = topic.sections[0] if topic.sections else None
    return turn.text(
        "admin/topic_preview",
        topic=topic,
        section=first,
        updated=topic.updated.isoformat(),
    )


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


# -- the admin flow ---------------------------------------------------------------


class AdminFlow(Flow):
    name = "admin"
    prefix = "adm"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group or not await is_admin(self.engine, turn.user_id):
            raise StaleButton(rest)
        action, _, arg = rest.partition(":")
        if action in ("pub", "drop"):
            await self._decide(turn, action, arg)
        elif action == "gap":
            await self._gap_topics(turn, self._gap(turn, arg))
        elif action == "gcat":
            await self._gap_categories(turn, arg)
        elif action == "gcs":
            await self._gap_category(turn, arg)
        elif action == "gadd":
            await self._gap_add(turn, arg)
        elif action == "bcr":
            await self._announce_region(turn, arg)
        elif action == "bcok":
            await self._announce_send(turn, arg)
        elif action == "bcstop":
            await self._announce_stop(turn, arg)
        elif action == "bcno" and not arg:
            if turn.state.flow != self.name or not (turn.state.step or "").startswith("bc_"):
                raise StaleButton(rest)
            turn.state.leave()
            turn.say("admin/announce_cancelled", [[turn.button("nav.menu", "nav:menu")]])
        else:
            raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        if turn.state.step == "bc_text" and await is_admin(self.engine, turn.user_id):
            await self._announce_text(turn, text)
        else:
            await self.engine.free_text(turn, text)

    # -- publish / drop a previewed change

    async def _decide(self, turn: Turn, action: str, token: str) -> None:
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
        await self._publish(turn, pending.path, pending.text, pending.kind, pending=token)

    async def _publish(
        self, turn: Turn, path: str, text: str, kind: str, pending: str | None = None
    ) -> bool:
        result = await publisher_of(self.engine).publish(
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
            content_version=self.engine.content.version,
        )
        return True

    # -- gaps: add a question as an example phrasing of a topic

    def _gap(self, turn: Turn, arg: str) -> tuple[int, dict[str, Any]]:
        gaps = turn.state.data.get("gaps") if turn.state.flow == self.name else None
        if not _INDEX.match(arg) or not isinstance(gaps, list) or int(arg) >= len(gaps):
            raise StaleButton(arg)
        gap = gaps[int(arg)]
        if not isinstance(gap, dict) or not isinstance(gap.get("q"), str) or gap.get("done"):
            raise StaleButton(arg)
        return int(arg), gap

    async def _gap_topics(self, turn: Turn, picked: tuple[int, dict[str, Any]]) -> None:
        n, gap = picked
        topics = getattr(turn.content.parts.get("knowledge"), "topics", {})
        rows = [
            [Button(topics[t].title, f"adm:gadd:{n}:{t}")]
            for t in gap.get("c", [])
            if isinstance(t, str) and t in topics
        ]
        rows.append([turn.button("admin.by_category", f"adm:gcat:{n}")])
        turn.say("admin/gap_pick_topic", rows, question=gap["q"], has_candidates=len(rows) > 1)

    async def _gap_categories(self, turn: Turn, arg: str) -> None:
        n, gap = self._gap(turn, arg)
        kb = turn.content.parts.get("knowledge")
        cats = getattr(kb, "categories", [])
        rows = [[Button(c.name, f"adm:gcs:{n}:{k}")] for k, c in enumerate(cats)]
        turn.say("admin/gap_pick_category", rows, question=gap["q"])

    async def _gap_category(self, turn: Turn, arg: str) -> None:
        n_text, _, k_text = arg.partition(":")
        n, gap = self._gap(turn, n_text)
        kb = turn.content.parts.get("knowledge")
        cats = getattr(kb, "categories", [])
        if not _INDEX.match(k_text) or int(k_text) >= len(cats):
            raise StaleButton(arg)
        topics = kb.in_category(cats[int(k_text)].id)
        rows = [[Button(t.title, f"adm:gadd:{n}:{t.id}")] for t in topics]
        rows.append([turn.button("admin.by_category", f"adm:gcat:{n}")])
        turn.say("admin/gap_pick_topic", rows, question=gap["q"], has_candidates=True)

    async def _gap_add(self, turn: Turn, arg: str) -> None:
        n_text, _, topic_id = arg.partition(":")
        _n, gap = self._gap(turn, n_text)
        kb = turn.content.parts.get("knowledge")
        topics = getattr(kb, "topics", {})
        if not _TOPIC_ID.match(topic_id) or topic_id not in topics:
            raise StaleButton(arg)
        question = gap["q"]
        path = f"{files.POLICY_DIR}/{topic_id}.md"
        current = files.read_current(turn.content.root, path)
        try:
            if current is None:
                raise files.EditFailed("no file")
            new_text = files.add_question(current, question)
        except files.EditFailed:
            turn.say("admin/gap_edit_failed", question=question, title=topics[topic_id].title)
            return
        if not await self._publish(turn, path, new_text, "example"):
            return
        # Say honestly what the matcher now does with the question.
        kb = self.engine.content.current.knowledge
        result = kb.matcher.match(question) if getattr(kb, "matcher", None) else None
        best = result.best if result is not None else None
        turn.say(
            "admin/gap_added",
            [[turn.button("nav.menu", "nav:menu")]],
            question=question,
            title=topics[topic_id].title,
            works=bool(result and result.decision == "answer" and best and best.id == topic_id),
            decision=result.decision if result else None,
            best=kb.topics[best.id].title if best and best.id in kb.topics else None,
        )
        # New objects, not an in-place change: the engine saves the state only when it
        # differs from the (shallow) copy taken before the turn.
        gaps = list(turn.state.data.get("gaps") or [])
        gaps[int(n_text)] = {"q": question, "c": [], "done": True}
        turn.state.data = {**turn.state.data, "gaps": gaps}

    # -- announcements

    async def _announce_region(self, turn: Turn, arg: str) -> None:
        if turn.state.flow != self.name or turn.state.step != "bc_region":
            raise StaleButton(arg)
        if arg == "*":
            region = None
        elif arg in regions_of(turn.content):
            region = arg
        else:
            raise StaleButton(arg)
        turn.state.data["region"] = region
        turn.state.push("bc_text")
        turn.say(
            "admin/announce_text",
            [[turn.button("admin.cancel", "adm:bcno")]],
            region=region,
            limit=MAX_ANNOUNCE_CHARS,
        )

    async def _announce_text(self, turn: Turn, text: str) -> None:
        if len(text) > MAX_ANNOUNCE_CHARS:
            turn.say(
                "admin/announce_too_long",
                [[turn.button("admin.cancel", "adm:bcno")]],
                limit=MAX_ANNOUNCE_CHARS,
                length=len(text),
            )
            return
        region = turn.state.data.get("region")
        token = secrets.token_urlsafe(9)
        turn.state.data.update(text=text, token=token)
        turn.state.push("bc_confirm")
        total = await turn.store.admin.count_recipients(region)
        sample = announcement_reply(self.engine, text, region)
        turn.say("admin/announce_preview_head", region=region, total=total)
        turn.add(Reply(sample.text))
        turn.say(
            "admin/announce_confirm",
            [
                [
                    turn.button("admin.send", f"adm:bcok:{token}"),
                    turn.button("admin.cancel", "adm:bcno"),
                ]
            ],
            total=total,
        )

    async def _announce_send(self, turn: Turn, token: str) -> None:
        data = turn.state.data
        if (
            turn.state.flow != self.name
            or turn.state.step != "bc_confirm"
            or not _TOKEN.match(token)
            or data.get("token") != token
            or not isinstance(data.get("text"), str)
        ):
            raise StaleButton(token)
        sender = sender_of(self.engine.services)
        if sender is None:
            turn.state.leave()
            turn.say("admin/no_notifier", [[turn.button("nav.menu", "nav:menu")]])
            return
        region, text = data.get("region"), data["text"]
        repo = turn.store.admin
        recipients = await repo.recipients(region)
        # The run and one outbox row per recipient, in one transaction: the sender
        # delivers them (paced, resumed after a restart, each at most once).
        broadcast_id = await repo.start_broadcast(
            token,
            turn.user_id,
            turn.event.chat_id,
            region,
            text,
            recipients,
            announcement_reply(self.engine, text, region),
        )
        if broadcast_id is None:
            raise StaleButton(token)
        turn.state.leave()
        sender.wake()
        if not recipients:
            await sender.broadcast_progress(broadcast_id)
        turn.say(
            "admin/broadcast_started",
            [
                [turn.button("admin.stop_broadcast", f"adm:bcstop:{broadcast_id}")],
                [turn.button("nav.menu", "nav:menu")],
            ],
            total=len(recipients),
        )

    async def _announce_stop(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit() or len(arg) > 12:
            raise StaleButton(arg)
        await stop_broadcast(turn, int(arg))


async def stop_broadcast(turn: Turn, broadcast_id: int | None) -> None:
    """Stop a running announcement: recipients not reached yet are left out; the
    messages already on their way finish; the admin gets the final counts."""
    repo = turn.store.admin
    if broadcast_id is None:
        broadcast_id = await repo.running_broadcast()
    run = await repo.broadcast(broadcast_id) if broadcast_id is not None else None
    if run is None or run.status != "running":
        turn.say("admin/broadcast_not_running", [[turn.button("nav.menu", "nav:menu")]])
        return
    cancelled = await turn.store.outbox.cancel_broadcast(run.id)
    sender = sender_of(turn.engine.services)
    if sender is not None:
        await sender.broadcast_progress(run.id)
    turn.say(
        "admin/broadcast_stopping",
        [[turn.button("nav.menu", "nav:menu")]],
        cancelled=cancelled,
    )


# -- admin commands -----------------------------------------------------------------


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


async def cmd_gaps(turn: Turn, arg: str) -> None:
    since = None
    if arg:
        try:
            since = dt.date.fromisoformat(arg.strip())
        except ValueError:
            turn.say("admin/gaps_usage")
            return
    kb = turn.content.parts.get("knowledge")
    normalize = getattr(kb, "normalize", None)
    groups = await gap_report(turn.store, since_timestamp(since), normalize)
    shown = groups[:GAPS_SHOWN]
    rows = [
        [turn.button("admin.add_example", f"adm:gap:{i}", n=i + 1)]
        for i, g in enumerate(shown)
        if len(g.representative) <= files.MAX_EXAMPLE_CHARS
    ]
    turn.state.enter(
        "admin",
        "gaps",
        {"gaps": [{"q": g.representative, "c": g.candidates} for g in shown]},
    )
    turn.say(
        "admin/gaps",
        rows + [[turn.button("nav.menu", "nav:menu")]],
        groups=[g.to_json() for g in shown],
        total=len(groups),
        since=since.isoformat() if since else None,
    )


async def cmd_announce(turn: Turn, arg: str) -> None:
    if arg.strip() in ("stop", "停止"):
        await stop_broadcast(turn, None)
        return
    regions = regions_of(turn.content)
    turn.state.enter("admin", "bc_region", {})
    rows = [[turn.button("admin.all_regions", "adm:bcr:*")]]
    for i in range(0, len(regions), REGIONS_PER_ROW):
        rows.append([Button(r, f"adm:bcr:{r}") for r in regions[i : i + REGIONS_PER_ROW]])
    rows.append([turn.button("admin.cancel", "adm:bcno")])
    turn.say("admin/announce_region", rows)


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


# -- residents: announcement subscriptions -------------------------------------------


class SubscribeFlow(Flow):
    name = "subscribe"
    prefix = "sub"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("admin/subscribe_private")
            return
        regions = regions_of(turn.content)
        if arg:
            region = _match_region(arg, regions)
            if region is not None:
                await self._subscribe(turn, region)
                return
        rows = [[turn.button("admin.subscribe_all", "sub:all")]]
        for i in range(0, len(regions), REGIONS_PER_ROW):
            rows.append([Button(r, f"sub:r:{r}") for r in regions[i : i + REGIONS_PER_ROW]])
        rows.append([turn.button("nav.menu", "nav:menu")])
        turn.say("admin/subscribe_pick", rows)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        if rest == "pick":
            await self.start(turn)
        elif rest == "all":
            await self._subscribe(turn, None)
        elif rest == "off":
            await unsubscribe(turn, "")
        elif rest.startswith("r:") and rest[2:] in regions_of(turn.content):
            await self._subscribe(turn, rest[2:])
        else:
            raise StaleButton(rest)

    async def _subscribe(self, turn: Turn, region: str | None) -> None:
        await turn.store.admin.subscribe(turn.user_id, turn.event.chat_id, region)
        turn.say(
            "admin/subscribed",
            [[turn.button("admin.unsubscribe", "sub:off"), turn.button("nav.menu", "nav:menu")]],
            region=region,
        )


def _match_region(text: str, regions: list[str]) -> str | None:
    text = text.strip()
    for r in regions:
        if text == r or (len(text) >= 2 and r.startswith(text)):
            return r
    return None


async def unsubscribe(turn: Turn, arg: str) -> None:
    if turn.event.is_group:
        turn.say("admin/subscribe_private")
        return
    was = await turn.store.admin.unsubscribe(turn.user_id)
    turn.say(
        "admin/unsubscribed",
        [[turn.button("admin.resubscribe", "sub:pick"), turn.button("nav.menu", "nav:menu")]],
        was=was,
    )


# -- installation ------------------------------------------------------------------


def _admin_only(engine: Engine, name: str, handler):
    async def guarded(turn: Turn, arg: str) -> None:
        if turn.event.is_group or not await is_admin(engine, turn.user_id):
            # Exactly what an unknown command gets: admin commands are not revealed.
            turn.say("core/unknown_command", [[turn.button("nav.menu", "nav:menu")]], command=name)
            return
        await handler(turn, arg)

    return guarded


async def cmd_admin(turn: Turn, arg: str) -> None:
    turn.say("admin/help", [[turn.button("nav.menu", "nav:menu")]])


ADMIN_COMMANDS = {
    "admin": cmd_admin,
    "reload": cmd_reload,
    "history": cmd_history,
    "rollback": cmd_rollback,
    "gaps": cmd_gaps,
    "announce": cmd_announce,
}


def install(engine: Engine) -> None:
    publisher_of(engine)
    engine.add_flow(AdminFlow(engine))
    subscribe = engine.add_flow(SubscribeFlow(engine))
    for name, handler in ADMIN_COMMANDS.items():
        engine.add_command(name, _admin_only(engine, name, handler))
    engine.add_command("subscribe", subscribe.start)
    engine.add_command("unsubscribe", unsubscribe)
    engine.set_document_handler(on_document)

    async def forget(store: Any, user_id: int) -> None:
        await store.admin.forget_subscriber(user_id)

    engine.services.setdefault("forget_handlers", []).append(forget)
