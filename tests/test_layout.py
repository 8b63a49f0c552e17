"""The shape of the package (docs/HACKING.md): no import cycles between modules at
import time, no dynamic imports, one time zone, one feature list."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.config import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_time_imports(path: Path, known: set[str], name: str) -> set[str]:
    """Modules of bot/ that ``path`` imports when it is imported (module level, also
    inside try/if, never inside functions or ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                for alias in node.names:
                    found.add(f"{base}.{alias.name}")
            elif isinstance(node, ast.If):
                if not _is_type_checking(node):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    out = set()
    for target in found:
        # Importing a.b.c imports a and a.b too.
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in known and candidate != name:
                out.add(candidate)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_no_import_cycle_at_import_time():
    mods = modules()
    known = set(mods)
    # A package's __init__ being imported by its own modules is not a cycle.
    graph = {
        name: {m for m in import_time_imports(path, known, name) if not name.startswith(m + ".")}
        for name, path in mods.items()
    }
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_dynamic_imports():
    for path in BOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("import_module", "__import__("):
            assert word not in text, f"{path}: {word}"


def test_one_time_zone_constant():
    defining = [
        p for p in BOT.rglob("*.py") if "timezone(dt.timedelta(hours=8))" in p.read_text("utf-8")
    ]
    assert defining == [BOT / "calendar.py"]


def test_the_regions_are_written_only_in_regions_yml():
    from bot.domain.regions import CITIES

    assert len(CITIES) == 21  # 18 地级市 and 3 自治州 (FACTS.md)
    for path in BOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        named = [c for c in CITIES if c in text]
        assert len(named) <= 2, f"{path} lists 市州: {named}"  # an example, not a list


def test_dates_people_mean_are_chinas():
    """The server may run on UTC: from 16:00 UTC it is the next day in China. Dates a
    person means (a content check's "today", a screening's date, a birth year's year)
    come from bot.calendar (china_today, local_date), never the server's date."""
    found = [
        f"{p.relative_to(PROJECT_ROOT)}:{n}"
        for p in BOT.rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "date.today()" in line or "datetime.now()" in line
    ]
    assert found == []


def test_china_today_is_a_day_ahead_of_utc_in_the_evening(monkeypatch):
    import datetime as dt

    import bot.calendar as calendar

    evening_utc = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC).timestamp()
    monkeypatch.setattr(calendar.time, "time", lambda: evening_utc)
    assert calendar.china_today() == dt.date(2026, 12, 2)


def test_no_file_in_bot_is_a_god_file():
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in BOT.rglob("*.py")}
    big = {str(p.relative_to(PROJECT_ROOT)): n for p, n in sizes.items() if n > 450}
    assert big == {}


def test_every_feature_is_in_the_list_and_installed(app):
    from bot.features import FEATURES

    names = [f.name for f in FEATURES]
    assert names[0] == "menu" and len(names) == len(set(names))
    # Every menu item has a flow, and nothing is a placeholder.
    assert set(app.engine.menu_targets) == set(app.engine.menu_items)
    assert app.engine.services.staff is not None and app.engine.hooks.forget
    assert [j.name for j in app.jobs] == [
        "staff-reminders",
        "staff-digest",
        "staff-maintenance",
        "staff-uncovered",
        "visits-reminders",
        "visits-digest",
        "visits-maintenance",
    ]
