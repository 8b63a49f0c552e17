"""``sanliang cases``: help requests for workers without the chat app.

- ``cases list [--status S] [--json]``: newest first; phones masked (138****1234).
- ``cases show REF [--json]``: one request with its history and messages (full phone:
  the worker needs it to call back; private staff notes included).
- ``cases export --csv FILE [--status S] [--full-phone]``: one row per request.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any

from bot.calendar import iso_time
from bot.domain.cases import STATUSES, Case, Message, StatusChange, status_label
from bot.render import Renderer, mask_phone
from bot.store.backends import is_url

CSV_COLUMNS = [
    "ref",
    "status",
    "status_label",
    "category",
    "category_label",
    "city",
    "district",
    "township",
    "village",
    "urgent",
    "urgent_by_resident",
    "urgent_words",
    "phone",
    "contact_time",
    "description",
    "attachments",
    "target_days",
    "due_at",
    "created_at",
    "updated_at",
    "closed_at",
    "erased",
]


def add_parser(subparsers, common) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "cases",
        help="list, show and export help requests",
        description="Help requests (我要求助) for community workers: list, show one, export.",
    )
    sub = parser.add_subparsers(dest="cases_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    p_list = sub.add_parser("list", help="list requests, newest first (phones masked)")
    common(p_list)
    p_list.add_argument("--status", choices=STATUSES, help="only requests with this status")
    p_list.add_argument("--json", action="store_true", help="a JSON list")
    p_list.add_argument("--limit", type=int, default=None, metavar="N", help="at most N")
    p_list.set_defaults(func=cmd_list)

    p_show = sub.add_parser("show", help="one request with its history and messages")
    common(p_show)
    p_show.add_argument("ref", metavar="REF", help="reference number, e.g. SC-2412-7KQ9")
    p_show.add_argument("--json", action="store_true", help="a JSON object")
    p_show.set_defaults(func=cmd_show)

    p_export = sub.add_parser("export", help="write requests to a CSV file")
    common(p_export)
    p_export.add_argument("--csv", required=True, metavar="FILE", help="CSV file to write")
    p_export.add_argument("--status", choices=STATUSES, help="only requests with this status")
    p_export.add_argument(
        "--full-phone",
        action="store_true",
        help="write full phone numbers (default: masked like 138****1234)",
    )
    p_export.set_defaults(func=cmd_export)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- shared ---------------------------------------------------------------------------


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return iso_time(ts)


class _Labels:
    def __init__(self, args: argparse.Namespace) -> None:
        from bot.config import config_from

        cfg = config_from(args)
        try:
            self.renderer: Renderer | None = Renderer(cfg.templates_dir, cfg.locale)
        except (OSError, ValueError):
            self.renderer = None

    def get(self, key: str, fallback: str) -> str:
        if self.renderer is not None and self.renderer.has_label(key):
            return self.renderer.label(key)
        return fallback


def case_json(case: Case, labels: _Labels, full_phone: bool) -> dict[str, Any]:
    phone = case.phone if full_phone else (mask_phone(case.phone) if case.phone else None)
    return {
        "ref": case.ref,
        "status": case.status,
        "status_label": labels.get(status_label(case.status), case.status),
        "category": case.category,
        "category_label": labels.get(f"cases.cat.{case.category}", case.category),
        "region": case.region,
        "city": case.region_city,
        "district": case.region_district,
        "township": case.region_township,
        "village": case.region_village,
        "urgent": case.urgent,
        "urgent_by_resident": case.urgent_by_resident,
        "urgent_words": list(case.urgent_words),
        "phone": phone,
        "contact_time": case.contact_time,
        "description": case.description,
        "attachments": list(case.attachments),
        "target_days": case.target_days,
        "due_at": iso(case.due_at),
        "assignee_id": case.assignee_id,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "closed_at": iso(case.closed_at),
        "erased": case.erased_at is not None,
    }


def history_json(h: StatusChange) -> dict[str, Any]:
    return {
        "at": iso(h.at),
        "actor_kind": h.actor_kind,
        "actor_id": h.actor_id,
        "from": h.from_status,
        "to": h.to_status,
        "note": h.note,
    }


def message_json(m: Message) -> dict[str, Any]:
    return {
        "at": iso(m.at),
        "author_kind": m.author_kind,
        "author_id": m.author_id,
        "private": m.private,
        "body": m.body,
    }


def _db_path(args: argparse.Namespace) -> str | None:
    """The configured database, or None (said on stderr) when it does not exist:
    a worker's typo must not create an empty database."""
    from bot.config import config_from

    path = config_from(args).db_path
    if path != ":memory:" and not is_url(path) and not Path(path).exists():
        print(f"no database at {path} (use --db PATH)", file=sys.stderr)
        return None
    return path


def _with_store(path: str, work) -> Any:
    """Run ``work(store)`` on the database at ``path``."""
    from bot.store import Store

    async def run() -> Any:
        store = await Store.open(path)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


# -- commands ---------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if path is None:
        return 1
    labels = _Labels(args)

    async def work(store) -> int:
        cases = await store.cases.list(status=args.status, limit=args.limit)
        items = [case_json(c, labels, full_phone=False) for c in cases]
        await store.staff.audit(None, "operator", "cli_list", detail=f"n={len(items)}")
        if args.json:
            json.dump(items, sys.stdout, ensure_ascii=False, indent=1)
            print()
            return 0
        if not items:
            print("no requests", file=sys.stderr)
            return 0
        for it in items:
            mark = "!" if it["urgent"] else " "
            print(
                f"{it['ref']} {mark} {it['created_at'][:16].replace('T', ' ')}"
                f"  {it['status_label']}  {it['category_label']}  {it['region']}"
                f"  {it['phone'] or '-'}"
            )
        print(f"{len(items)} request(s)", file=sys.stderr)
        return 0

    return _with_store(path, work)


def cmd_show(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if path is None:
        return 1
    labels = _Labels(args)

    async def work(store) -> int:
        case = await store.cases.get_by_ref(args.ref)
        if case is None:
            print(f"no request {args.ref!r}", file=sys.stderr)
            return 1
        data = case_json(case, labels, full_phone=True)
        await store.staff.audit(None, "operator", "cli_show", case.id, detail="phone=full")
        data["history"] = [history_json(h) for h in await store.cases.history(case.id)]
        data["messages"] = [
            message_json(m) for m in await store.cases.messages(case.id, include_private=True)
        ]
        if args.json:
            json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
            print()
            return 0
        print(_show_text(data))
        return 0

    return _with_store(path, work)


def _show_text(d: dict[str, Any]) -> str:
    place = " ".join(x for x in (d["city"], d["district"], d["township"], d["village"]) if x)
    lines = [
        f"{d['ref']}  {d['status_label']} ({d['status']})" + ("  URGENT" if d["urgent"] else ""),
        f"category:     {d['category_label']}",
        f"region:       {place}",
        f"phone:        {d['phone'] or '-'}",
        f"contact time: {d['contact_time'] or '-'}",
        f"created:      {d['created_at']}",
        f"target:       {d['target_days']} working day(s), due {d['due_at'] or '-'}",
    ]
    if d["urgent_words"]:
        lines.append(f"flagged by:   {'、'.join(d['urgent_words'])}")
    if d["urgent_by_resident"]:
        lines.append("flagged by:   the resident said it is urgent")
    if d["erased"]:
        lines.append("personal data erased")
    lines += ["", "description:", f"  {d['description'] or '-'}"]
    for a in d["attachments"]:
        if a.get("kind") == "unanswered":
            lines.append(f"attached question: {a.get('text', '')}")
        elif a.get("kind") == "screening":
            lines.append("attached screening: " + "; ".join(a.get("lines") or []))
    lines += ["", "history:"]
    for h in d["history"]:
        who = h["actor_kind"] + (f" {h['actor_id']}" if h["actor_id"] is not None else "")
        note = f"  ({h['note']})" if h["note"] else ""
        lines.append(f"  {h['at']}  {h['from'] or '-'} -> {h['to']}  by {who}{note}")
    if d["messages"]:
        lines += ["", "messages:"]
        for m in d["messages"]:
            tag = " [private]" if m["private"] else ""
            lines.append(f"  {m['at']}  {m['author_kind']}{tag}: {m['body'] or '(erased)'}")
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if path is None:
        return 1
    labels = _Labels(args)

    async def work(store) -> tuple[list[Case], dict[int, dict[str, str]]]:
        from bot.staff.report import staff_csv_columns  # assignee and workflow dates

        cases = await store.cases.list(status=args.status)
        phone = "full" if args.full_phone else "masked"
        await store.staff.audit(
            None, "operator", "cli_export", detail=f"n={len(cases)} phone={phone}"
        )
        return cases, await staff_csv_columns(store)

    cases, staff = _with_store(path, work)
    out = Path(args.csv)
    # utf-8-sig so that spreadsheet programs read the Chinese text correctly.
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        from bot.staff.report import STAFF_CSV_COLUMNS

        writer = csv.DictWriter(
            fh, fieldnames=CSV_COLUMNS + STAFF_CSV_COLUMNS, extrasaction="ignore"
        )
        writer.writeheader()
        for case in cases:
            row = case_json(case, labels, full_phone=args.full_phone)
            row["urgent_words"] = "、".join(row["urgent_words"])
            row["attachments"] = json.dumps(row["attachments"], ensure_ascii=False)
            row.update(staff.get(case.id, {}))
            writer.writerow(row)
    print(f"wrote {len(cases)} request(s) to {out}", file=sys.stderr)
    return 0
