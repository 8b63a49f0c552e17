"""The template and label names the code uses, read from the package source with
``ast``, and the check that the wording has every one of them.

Found: the first argument of ``.say()``/``.text()``/``.render()`` (templates) and of
``.label()``/``.button()`` (labels); any other string literal shaped ``area/name``
where ``area`` is a template folder (a name kept in a variable before it is said);
f-strings, as patterns (at least one name must match ``f"cases/ask_{step}"``), or
expanded to every name they make when each placeholder is a loop variable over known
strings; and ``helper("cases.cat", CATEGORIES)``, a label prefix with known values.
A missing name is an error at the line of the code that names it. The content part
``wording`` (``bot.render.load``) runs the check on every load, so ``sanliang check``,
``/reload`` and an admin's upload all refuse wording the code cannot use.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:
    from bot.content import Report
    from bot.render import Renderer

TEMPLATE_SUFFIX = ".j2"

PACKAGE_DIR = Path(__file__).resolve().parent
# Calls whose first argument names a template / a label.
_TEMPLATE_CALLS = {"say", "text", "render"}
_LABEL_CALLS = {"label", "button"}
_TEMPLATE_NAME = re.compile(r"^([a-z][a-z0-9_]*)/([a-z0-9_][a-z0-9_.]*?)(?:\.j2)?$")


@dataclass(frozen=True)
class NameUse:
    """A template (``kind="template"``) or label the code names, at ``path:line``.
    ``pattern`` is set for an f-string: then at least one name must match it."""

    kind: str
    name: str
    path: Path
    line: int
    pattern: re.Pattern[str] | None = None
    # A template-shaped string literal outside a say/text/render call: checked when its
    # folder is a template folder (of the wording, or named in such a call).
    loose: bool = False
    # A label built by a helper from a prefix and known values (``f(\"cases.cat\",
    # CATEGORIES)``): checked when the wording has labels under that prefix at all.
    family: str | None = None


def check_names_used(wording: Renderer, report: Report, package: Path = PACKAGE_DIR) -> None:
    """Report every template or label the code names that the wording does not have.

    The names are read from the package source with ``ast``: the first argument of
    ``.say()``/``.text()``/``.render()`` (templates) and of ``.label()``/``.button()``
    (labels), and any other string literal shaped ``area/name`` where ``area`` is a
    template folder (a name kept in a variable before it is said). An f-string such as
    ``f"cases/ask_{step}"`` must match at least one existing name."""
    templates = set(wording.files)
    labels = set(wording.labels())
    uses = names_used(package)
    areas = {n.split("/", 1)[0] for n in templates if "/" in n}
    areas |= {u.name.split("/", 1)[0] for u in uses if u.kind == "template" and not u.loose}
    families = {u.family for u in uses if u.family}
    known_families = {f for f in families if any(k.startswith(f + ".") for k in labels)}
    for use in uses:
        if use.loose and use.name.split("/", 1)[0] not in areas:
            continue
        if use.family is not None and use.family not in known_families:
            continue
        have = templates if use.kind == "template" else labels
        if use.pattern is not None:
            if any(use.pattern.fullmatch(n) for n in have):
                continue
        elif use.name in have:
            continue
        try:  # the code's path as a developer reads it: bot/cases/dialog.py
            where_used = use.path.relative_to(package.parent).as_posix()
        except ValueError:
            where_used = str(use.path)
        if use.kind == "template":
            where = f"templates/{wording.locale}/{use.name}{TEMPLATE_SUFFIX}"
            report.error(
                where_used, use.line, f"程序要用的模板不存在：{use.name}（应有文件 {where}）"
            )
        else:
            report.error(
                where_used,
                use.line,
                f"程序要用的按钮文字不存在：{use.name}（应写在 templates/{wording.locale}/labels.yml "
                "或 labels/*.yml 里）",
            )


# Files without any of these cannot name a template or a label: they are not parsed.
_MAY_NAME = re.compile(
    r"\.(?:say|text|render|label|button)\("
    r"|[\"'][a-z][a-z0-9_]*/[a-z0-9_][a-z0-9_.]*[\"']"
    r"|\(\s*[\"'][a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*[\"']\s*,"
)


_CACHE_VERSION = "1"


@lru_cache(maxsize=4)
def names_used(package: Path = PACKAGE_DIR) -> tuple[NameUse, ...]:
    """Every template and label name the package's source uses, read once a process,
    and kept in jinja's per-user cache folder under the sizes and times of the source
    files, so that a new process reads them again only after the code changed."""
    files = sorted(package.rglob("*.py"))
    key = hashlib.sha256(_CACHE_VERSION.encode())
    for path in files:
        st = path.stat()
        key.update(f"{path.relative_to(package)}:{st.st_mtime_ns}:{st.st_size};".encode())
    cache = _cache_file(f"sanliang-names-{key.hexdigest()}.json")
    if cache is not None:
        try:
            return tuple(_from_json(item, package) for item in json.loads(cache.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    uses = _scan(package, files)
    if cache is not None:
        try:  # whole or not at all: another process may be reading it
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps([_to_json(u, package) for u in uses]))
            os.replace(partial, cache)
        except OSError:
            pass
    return uses


def _cache_file(name: str) -> Path | None:
    try:
        return Path(jinja2.FileSystemBytecodeCache().directory) / name
    except (OSError, RuntimeError):
        return None


def _to_json(use: NameUse, package: Path) -> list:
    pattern = use.pattern.pattern if use.pattern is not None else None
    rel = use.path.relative_to(package).as_posix()
    return [use.kind, use.name, rel, use.line, pattern, use.loose, use.family]


def _from_json(item: list, package: Path) -> NameUse:
    kind, name, rel, line, pattern, loose, family = item
    compiled = re.compile(pattern) if pattern is not None else None
    return NameUse(kind, name, package / rel, int(line), compiled, bool(loose), family)


def _scan(package: Path, files: list[Path]) -> tuple[NameUse, ...]:
    """Every template and label name in the source files of ``package``.

    An f-string whose only placeholders are loop variables over literal tuples (or
    over a module-level tuple of strings, in that module or imported from the
    package) is expanded to every name it can make, so that each one is checked."""
    sources = {path: path.read_text(encoding="utf-8") for path in files}
    by_module = {_module_name(package, path): path for path in sources}
    trees: dict[Path, ast.Module] = {}

    def tree_of(path: Path) -> ast.Module:
        if path not in trees:
            trees[path] = ast.parse(sources[path], str(path))
        return trees[path]

    @cache
    def constants(module: str) -> dict[str, list[str]]:
        path = by_module.get(module)
        return _string_tuples(tree_of(path)) if path is not None else {}

    uses: list[NameUse] = []
    for path, source in sources.items():
        if _MAY_NAME.search(source):
            tree = tree_of(path)
            lookup = _lookup(tree, constants(_module_name(package, path)), constants)
            uses.extend(_uses_in(path, tree, lookup))
    return tuple(uses)


def _uses_in(path: Path, tree: ast.Module, lookup) -> list[NameUse]:
    parents: dict[int, ast.AST] = {}
    uses: list[NameUse] = []
    in_fstring: set[int] = set()
    called: set[int] = set()
    strings: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                strings.append(node)
            continue
        if isinstance(node, ast.JoinedStr):
            in_fstring.update(id(v) for v in node.values)
            continue
        if not isinstance(node, ast.Call) or not node.args:
            continue
        family = _label_family(node, lookup)
        if family is not None:
            prefix, values = family
            uses.extend(
                NameUse("label", f"{prefix}.{v}", path, node.lineno, family=prefix) for v in values
            )
            continue
        if not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        kind = (
            "template" if method in _TEMPLATE_CALLS else "label" if method in _LABEL_CALLS else None
        )
        if kind is None:
            continue
        arg = node.args[0]
        use = _name_use(kind, arg, path)
        if use is None:
            continue
        called.add(id(arg))
        names = None
        if isinstance(arg, ast.JoinedStr):
            if not parents:  # only where an f-string needs its enclosing loops
                parents.update(
                    (id(child), n) for n in ast.walk(tree) for child in ast.iter_child_nodes(n)
                )
            names = _expand(arg, parents, lookup)
        if names:
            uses.extend(NameUse(kind, n, path, arg.lineno) for n in names)
        else:
            uses.append(use)
    for c in strings:
        if id(c) in in_fstring or id(c) in called:
            continue
        m = _TEMPLATE_NAME.match(str(c.value))
        if m:
            name = f"{m.group(1)}/{m.group(2)}"
            uses.append(NameUse("template", name, path, c.lineno, loose=True))
    return uses


_LABEL_PREFIX = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def _label_family(node: ast.Call, lookup) -> tuple[str, list[str]] | None:
    """``helper("cases.cat", CATEGORIES)``: a dotted prefix and a tuple of known strings,
    the shape of a helper that makes one label per value."""
    if len(node.args) != 2 or node.keywords:
        return None
    first, second = node.args
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    if not _LABEL_PREFIX.match(first.value):
        return None
    values = _strings(second)
    if values is None and isinstance(second, ast.Name):
        values = lookup(second.id)
    return (first.value, values) if values else None


def _module_name(package: Path, path: Path) -> str:
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _strings(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts:
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(values) == len(node.elts) and all(isinstance(v, str) for v in values):
            return [str(v) for v in values]
    return None


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = ("a", "b", ...)`` (or annotated) assignments."""
    out: dict[str, list[str]] = {}
    for node in tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        values = _strings(value)
        if isinstance(target, ast.Name) and values is not None:
            out[target.id] = values
    return out


def _lookup(tree: ast.Module, own: dict[str, list[str]], constants):
    """Name -> strings: the module's own tuples, and those it imports from the package
    (``constants(module)`` reads a module's tuples)."""
    names = dict(own)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                values = constants(node.module).get(alias.name)
                if values is not None:
                    names[alias.asname or alias.name] = values
    return names.get


def _expand(arg: ast.JoinedStr, parents: dict[int, ast.AST], lookup) -> list[str] | None:
    """Every string the f-string can give, when each placeholder is a loop variable
    over known strings; None when any is not."""
    pieces: list[list[str]] = []
    for part in arg.values:
        if isinstance(part, ast.Constant):
            pieces.append([str(part.value)])
        elif (
            isinstance(part, ast.FormattedValue)
            and isinstance(part.value, ast.Name)
            and part.conversion == -1
            and part.format_spec is None
        ):
            values = _bound(part.value.id, arg, parents, lookup)
            if values is None:
                return None
            pieces.append(values)
        else:
            return None
    return ["".join(p) for p in itertools.product(*pieces)]


def _bound(name: str, node: ast.AST, parents: dict[int, ast.AST], lookup) -> list[str] | None:
    """The strings ``name`` runs through, if an enclosing loop binds it to known ones."""
    here: ast.AST | None = parents.get(id(node))
    while here is not None and not isinstance(here, ast.FunctionDef | ast.AsyncFunctionDef):
        loops: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(here, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            loops = [(g.target, g.iter) for g in here.generators]
        elif isinstance(here, ast.For):
            loops = [(here.target, here.iter)]
        for target, iterable in loops:
            if isinstance(target, ast.Name) and target.id == name:
                values = _strings(iterable)
                if values is None and isinstance(iterable, ast.Name):
                    values = lookup(iterable.id)
                return values
        here = parents.get(id(here))
    return None


def _name_use(kind: str, arg: ast.expr, path: Path) -> NameUse | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        name = arg.value
        if kind == "template":
            m = _TEMPLATE_NAME.match(name)
            if not m:
                return None
            name = f"{m.group(1)}/{m.group(2)}"
        return NameUse(kind, name, path, arg.lineno)
    if isinstance(arg, ast.JoinedStr):
        shown, regex = [], []
        for part in arg.values:
            if isinstance(part, ast.Constant):
                shown.append(str(part.value))
                regex.append(re.escape(str(part.value)))
            else:
                shown.append("*")
                regex.append("[^/]+" if kind == "template" else "[A-Za-z0-9_-]+")
        name = "".join(shown)
        if kind == "template" and "/" not in name:
            return None
        return NameUse(kind, name, path, arg.lineno, re.compile("".join(regex)))
    return None
