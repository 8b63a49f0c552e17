"""Loading the eligibility rules (``policy_texts/eligibility/<program>.yml``): every
criterion, case and note checked against the facts and the standards' measures,
reported as ``path:line: message``; the model and its evaluation are
bot.screening.rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.content import LineDict, LineList, Report, load_yaml_file
from bot.manifest import MANIFEST, content_paths
from bot.screening.expr import Expr, ExprError, compile_expr
from bot.screening.facts import PROGRAMS
from bot.screening.rules import (
    STATUSES,
    Case,
    Criterion,
    Note,
    Program,
    base_names,
    template_fields,
)

if TYPE_CHECKING:
    from bot.screening.standards import Standards


def _text(raw: LineDict, key: str, where: str, path: Path, report: Report, names: set[str]):
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        report.error(path, raw.line_of(key), f"{where}: missing {key}")
        return None
    try:
        fields = template_fields(value)
    except ValueError as exc:
        report.error(path, raw.line_of(key), f"{where}: {exc}")
        return None
    for f in fields:
        if f not in names:
            report.error(path, raw.line_of(key), f"{where}: unknown placeholder {{{f}}}")
            return None
    return value.strip()


def _expr(raw: LineDict, key: str, where: str, path: Path, report: Report, names, programs):
    try:
        return compile_expr(raw[key], names, programs)
    except ExprError as exc:
        report.error(path, raw.line_of(key), f"{where}: {exc}")
        return None


def load_program(path: Path, report: Report, names: set[str], programs: set[str]) -> Program | None:
    data = load_yaml_file(path, report)
    if data is None:
        return None
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected a mapping with program and criteria")
        return None
    pid = data.get("program")
    if pid != path.stem:
        report.error(path, data.line_of("program"), f"program {pid!r} differs from the file name")
        return None
    if pid not in programs:
        report.error(path, data.line_of("program"), f"unknown program id {pid!r}")
        return None
    ok = True
    names = set(names)
    lets: list[tuple[str, Expr, int]] = []
    raw_lets = data.get("let") or LineDict()
    if not isinstance(raw_lets, LineDict):
        report.error(path, data.line_of("let"), "let: expected a mapping of names to expressions")
        raw_lets = LineDict()
    for name, _src in raw_lets.items():
        if not isinstance(name, str) or not name.isidentifier() or name in names:
            report.error(path, raw_lets.line_of(str(name)), f"let: {name!r} is not a new name")
            ok = False
            continue
        e = _expr(raw_lets, name, f"let {name}", path, report, names, programs)
        if e is None:
            ok = False
            continue
        lets.append((name, e, raw_lets.line_of(name)))
        names.add(name)
    criteria: list[Criterion] = []
    raw_crit = data.get("criteria")
    if not isinstance(raw_crit, LineList) or not raw_crit:
        report.error(path, data.line_of("criteria"), "criteria: expected a non-empty list")
        return None
    for i, rc in enumerate(raw_crit):
        cline = raw_crit.line_of(i)
        if not isinstance(rc, LineDict) or not isinstance(rc.get("cases"), LineList):
            report.error(path, cline, "a criterion needs a name, cases and an unknown text")
            ok = False
            continue
        cname = str(rc.get("name") or f"#{i + 1}")
        unknown = _text(rc, "unknown", cname, path, report, names)
        cases: list[Case] = []
        raw_cases = rc["cases"]
        for j, rcase in enumerate(raw_cases):
            kline = raw_cases.line_of(j)
            if not isinstance(rcase, LineDict):
                report.error(path, kline, f"{cname}: a case is a mapping with status and reason")
                ok = False
                continue
            last = j == len(raw_cases) - 1
            cond = None
            if "if" in rcase:
                cond = _expr(rcase, "if", cname, path, report, names, programs)
                if cond is None:
                    ok = False
            elif not last:
                report.error(path, kline, f"{cname}: only the last case may have no 'if'")
                ok = False
            if last and "if" in rcase:
                report.error(path, kline, f"{cname}: the last case must have no 'if' (otherwise)")
                ok = False
            status = rcase.get("status")
            if status not in STATUSES:
                report.error(
                    path,
                    rcase.line_of("status"),
                    f"{cname}: status must be one of {', '.join(STATUSES)}",
                )
                ok = False
            reason = _text(rcase, "reason", cname, path, report, names)
            if reason is None:
                ok = False
            if ok and reason is not None and status in STATUSES:
                cases.append(Case(cond, status, reason, kline))
        if unknown is None:
            ok = False
        if ok:
            criteria.append(Criterion(cname, tuple(cases), unknown or "", cline))
    notes: list[Note] = []
    raw_notes = data.get("notes") or []
    if not isinstance(raw_notes, list):
        report.error(path, data.line_of("notes"), "notes: expected a list")
        raw_notes = []
    for i, rn in enumerate(raw_notes):
        nline = raw_notes.line_of(i) if isinstance(raw_notes, LineList) else 1
        if not isinstance(rn, LineDict):
            report.error(path, nline, "a note is a mapping with text and an optional if")
            ok = False
            continue
        text = _text(rn, "text", "note", path, report, names)
        cond = _expr(rn, "if", "note", path, report, names, programs) if "if" in rn else None
        if text is None or ("if" in rn and cond is None):
            ok = False
            continue
        notes.append(Note(text, cond, nline))
    docs: dict[str, Expr] = {}
    raw_docs = data.get("documents_if") or LineDict()
    if not isinstance(raw_docs, LineDict):
        report.error(path, data.line_of("documents_if"), "documents_if: expected a mapping")
        raw_docs = LineDict()
    for doc in raw_docs:
        e = _expr(raw_docs, doc, f"documents_if {doc}", path, report, names, programs)
        if e is None:
            ok = False
        else:
            docs[str(doc)] = e
    if not ok:
        return None
    return Program(pid, tuple(criteria), tuple(lets), tuple(notes), docs, path, data.line)


def load_programs(
    root: Path, report: Report, standards: Standards | None, topic_ids: set[str] | None
) -> dict[str, Program]:
    rules = MANIFEST.file("eligibility")
    programs: dict[str, Program] = {}
    known = set(PROGRAMS)
    names = base_names(standards)
    for path in content_paths(root, "eligibility"):
        prog = load_program(path, report, names, known)
        if prog is None:
            continue
        if topic_ids is not None and prog.id not in topic_ids:
            report.error(path, prog.line, f"program {prog.id!r} has no policy topic")
        programs[prog.id] = prog
    for pid in PROGRAMS:
        path = root / rules.resolve(name=pid)
        if pid not in programs and not path.exists():
            report.error(path, 1, f"missing: the eligibility rules of {pid}")
    _check_cycles(programs, report)
    return {pid: programs[pid] for pid in PROGRAMS if pid in programs}


def _check_cycles(programs: dict[str, Program], report: Report) -> None:
    state: dict[str, int] = {}

    def visit(pid: str, trail: list[str]) -> None:
        if state.get(pid) == 2 or pid not in programs:
            return
        if state.get(pid) == 1:
            cycle = " → ".join([*trail[trail.index(pid) :], pid])
            p = programs[pid]
            report.error(p.path, p.line, f"qualifies() goes round in a circle: {cycle}")
            return
        state[pid] = 1
        for dep in sorted(programs[pid].depends_on()):
            visit(dep, [*trail, pid])
        state[pid] = 2

    for pid in programs:
        visit(pid, [])
