"""Every sentence the assistant says, rendered from jinja2 templates.

Templates live in ``templates/<locale>/`` as ``<name>.j2`` and produce the HTML
subset Telegram accepts (<b>, <i>, <u>, <s>, <code>, <pre>, <a>, <blockquote>).
Autoescape is always on, so text a user typed can never inject markup. Button
labels are short strings in ``templates/<locale>/labels.yml`` and ``labels/*.yml``. A template
missing in the requested locale falls back to zh-CN, so a new locale can be
added piece by piece.

The wording is part of the content snapshot (the part ``wording``): every template is
read and compiled, and every label read, when the content is loaded, so ``/reload``
and SIGHUP change wording together with the rest, and a template that does not
compile or a label file that does not parse keeps the last good snapshot served.
(Compiled code is kept by the template's text, ``bot.render_cache``: a text kept
compiled is only looked up then, and its code read when the template is first said.)
Each rendered text remembers the template it came from (``Rendered.template``), and a
``Reply`` built from it carries that name: tests assert which reply was given, not
its sentences.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from bot.calendar import fmt_when
from bot.content import LineDict, Report, load_yaml_file
from bot.manifest import FALLBACK_LOCALE, MANIFEST
from bot.render_cache import COMPILED, references
from bot.wording_names import check_names_used

if TYPE_CHECKING:
    from bot.content import Content, ContentHolder

TEMPLATE_SUFFIX = ".j2"
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^>]*)?>")
_MANY_BLANKS = re.compile(r"\n{3,}")
_PLAIN = (bool, int, float, type(None))
RENDER_CACHE_SIZE = 1024


class Rendered(str):
    """A rendered text that remembers the name of its template (``area/name``) and the
    values it was rendered with (what tests assert instead of sentences)."""

    template: str
    context: dict[str, Any]

    def __new__(cls, text: str, template: str, context: dict[str, Any] | None = None) -> Rendered:
        self = super().__new__(cls, text)
        self.template = template
        self.context = dict(context or {})
        return self


def mask_phone(value: Any) -> str:
    """138****1234 for mobiles; keep area code and last 4 digits of a landline."""
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def _yuan(value: Any) -> Any:
    return f"{value:,.0f}".replace(",", "") if isinstance(value, int | float) else value


def _under(templates_dir: Path, key: str, loc: str) -> list[Path]:
    """The manifest's files ``key`` of locale ``loc`` in ``templates_dir`` (the content
    root's ``templates`` folder, or any folder laid out like it)."""
    rel = MANIFEST.file(key).resolve(loc)
    _top, _, inside = rel.partition("/")
    if MANIFEST.file(key).family:
        return sorted(p for p in templates_dir.glob(inside) if p.is_file())
    return [p for p in [templates_dir / inside] if p.exists()]


def template_files(templates_dir: Path, locale: str) -> dict[str, Path]:
    """Template name (``area/name``) -> file, the locale's own over zh-CN's."""
    found: dict[str, Path] = {}
    for loc in dict.fromkeys((FALLBACK_LOCALE, locale)):
        base = templates_dir / loc
        for path in _under(templates_dir, "templates", loc):
            found[path.relative_to(base).as_posix()[: -len(TEMPLATE_SUFFIX)]] = path
    return found


def label_files(templates_dir: Path, loc: str) -> list[Path]:
    return [*_under(templates_dir, "labels", loc), *_under(templates_dir, "feature_labels", loc)]


class Renderer:
    """One snapshot of the wording: all templates compiled and all labels, read once.

    ``Renderer(templates_dir)`` raises ValueError when a template does not compile or
    a label file is broken; inside a content load (``report`` given) those problems
    are reported as ``path:line: message`` instead."""

    def __init__(
        self,
        templates_dir: Path,
        locale: str = FALLBACK_LOCALE,
        *,
        report: Report | None = None,
    ) -> None:
        self.templates_dir = Path(templates_dir)
        self.locale = locale
        own = report is None
        if report is None:
            report = Report(self.templates_dir)
        files = template_files(self.templates_dir, locale)
        sources: dict[str, str] = {}
        for name, path in files.items():
            try:
                sources[f"{name}{TEMPLATE_SUFFIX}"] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                report.error(path, 1, f"模板文件读不出来：{exc}")
        self.env = jinja2.Environment(
            # Sources are read above, once: rendering never touches the files, and a
            # reload builds a new Renderer from the files as they are then.
            loader=jinja2.DictLoader(sources),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            cache_size=-1,
            bytecode_cache=COMPILED,
        )
        self.env.filters["mask_phone"] = mask_phone
        self.env.filters["yuan"] = _yuan
        self.env.filters["when"] = fmt_when  # the one date format (bot.calendar)
        self.files = files
        # The templates that compile, each read into a jinja2.Template when first said.
        self._names: set[str] = set()
        self._templates: dict[str, jinja2.Template] = {}
        self._compile(sources, report)
        self._labels, self.label_lines = self._load_labels(report)
        self._rendered: dict[tuple[Any, ...], str] = {}
        if own and report.errors:
            raise ValueError("\n".join(str(p) for p in report.errors))

    def _compile(self, sources: dict[str, str], report: Report) -> None:
        for key, source in sources.items():
            name = key[: -len(TEMPLATE_SUFFIX)]
            path = self.files[name]
            try:
                # Compiled once (a syntax error is raised here) and kept by its text, which
                # is then only looked up: the code is read when the template is first said
                # (reading the code of every template took a third of the wording's load).
                if not COMPILED.holds(key, source):
                    self.env.get_template(key)
                self._names.add(name)
                refs = references(source)
            except jinja2.TemplateSyntaxError as exc:
                report.error(path, exc.lineno or 1, f"模板写法有误，无法编译：{exc.message}")
                continue
            for ref in refs:
                if ref not in sources:
                    report.error(path, _line_of(source, ref), f"引用的模板不存在：{ref}")

    def _load_labels(self, report: Report) -> tuple[dict[str, str], dict[str, tuple[Path, int]]]:
        """``labels.yml`` plus one ``labels/<feature>.yml`` per feature; a key defined
        twice in one locale is an error."""
        labels: dict[str, str] = {}
        where: dict[str, tuple[Path, int]] = {}
        for loc in dict.fromkeys((FALLBACK_LOCALE, self.locale)):
            seen: dict[str, Path] = {}
            for path in label_files(self.templates_dir, loc):
                data = load_yaml_file(path, report)
                if data is None:
                    continue
                if not isinstance(data, LineDict):
                    report.error(path, 1, "按钮文字文件应当是「键: 文字」的列表")
                    continue
                for key, value in data.items():
                    line = data.line_of(str(key))
                    if str(key) in seen:
                        report.error(
                            path, line, f"按钮文字 {key!r} 重复：{seen[str(key)].name} 里已经有了"
                        )
                        continue
                    if not isinstance(value, str | int | float) or isinstance(value, bool):
                        report.error(path, line, f"按钮文字 {key!r} 应当是一段文字")
                        continue
                    raw = str(value)
                    if "{" in raw:
                        try:
                            _label_checked(raw)
                        except jinja2.TemplateSyntaxError as exc:
                            report.error(path, line, f"按钮文字 {key!r} 写法有误：{exc.message}")
                            continue
                    seen[str(key)] = path
                    labels[str(key)] = raw
                    where[str(key)] = (path, line)
        return labels, where

    def render(self, name: str, **context: Any) -> Rendered:
        # A template is a pure function of its context: the texts said most often (the
        # menu, prompts, 该按钮已过期 ...) take no context or only flags and numbers, and
        # are kept once rendered. Contexts with any text or object are rendered afresh
        # (so no user's words are kept here).
        if all(type(v) in _PLAIN for v in context.values()):
            key = (name, *sorted(context.items()))
            text = self._rendered.get(key)
            if text is None:
                if len(self._rendered) >= RENDER_CACHE_SIZE:
                    self._rendered.clear()
                text = self._rendered[key] = self._render(name, context)
            return text  # type: ignore[return-value]
        return self._render(name, context)

    def _render(self, name: str, context: dict[str, Any]) -> Rendered:
        template = self._templates.get(name)
        if template is None:
            if name not in self._names:
                raise jinja2.TemplateNotFound(f"{name}{TEMPLATE_SUFFIX}")
            template = self._templates[name] = self.env.get_template(f"{name}{TEMPLATE_SUFFIX}")
        text = template.render(**context)
        lines = [line.rstrip() for line in text.strip().splitlines()]
        return Rendered(_MANY_BLANKS.sub("\n\n", "\n".join(lines)), name, context)

    def label(self, key: str, **context: Any) -> str:
        """A button label. Labels are plain text (buttons show no markup)."""
        raw = self._labels.get(key)
        if raw is None:
            raise KeyError(f"no label {key!r} in templates/{self.locale}/labels.yml")
        if "{" in raw and context:
            return _label_template(raw).render(**context)
        return raw

    def has_label(self, key: str) -> bool:
        return key in self._labels

    def labels(self) -> dict[str, str]:
        return dict(self._labels)

    def has_template(self, name: str) -> bool:
        return name in self._names

    def template_names(self) -> list[str]:
        return sorted(self.files)


class LiveRenderer(Renderer):
    """The wording of whatever snapshot ``holder`` serves now. For texts sent outside
    a user's turn (notices, jobs, reload reports); a turn renders with the wording of
    its own snapshot (``Turn.r``)."""

    def __init__(self, holder: ContentHolder) -> None:  # noqa: D107 - no snapshot of its own
        self._holder = holder

    @property
    def now(self) -> Renderer:
        return self._holder.current.wording

    def __getattr__(self, name: str) -> Any:  # env, files, locale, templates_dir ...
        if name.startswith("__") or name == "_holder":
            raise AttributeError(name)
        return getattr(self.now, name)

    def render(self, name: str, **context: Any) -> Rendered:
        return self.now.render(name, **context)

    def label(self, key: str, **context: Any) -> str:
        return self.now.label(key, **context)

    def has_label(self, key: str) -> bool:
        return self.now.has_label(key)

    def labels(self) -> dict[str, str]:
        return self.now.labels()

    def has_template(self, name: str) -> bool:
        return self.now.has_template(name)

    def template_names(self) -> list[str]:
        return self.now.template_names()


def load(root: Path, report: Report, content: Content) -> Renderer:
    """The content part ``wording``: templates and labels of the snapshot, checked
    against the template and label names the code uses."""
    wording = Renderer(
        Path(root) / MANIFEST.file("templates").folder, content.locale, report=report
    )
    check_names_used(wording, report)
    return wording


def _line_of(source: str, needle: str) -> int:
    for i, line in enumerate(source.splitlines(), 1):
        if needle in line:
            return i
    return 1


def _label_checked(raw: str) -> None:
    """Raise jinja2.TemplateSyntaxError if a label does not compile (one kept compiled
    did: it is not read again)."""
    if not COMPILED.holds(_LABEL_PREFIX + raw, raw):
        _label_template(raw)


@lru_cache(maxsize=512)
def _label_template(raw: str) -> jinja2.Template:
    # What ``_LABELS.from_string(raw)`` makes, its code kept in the cache of compiled
    # templates (by the label's text, which jinja checks), like the templates: compiling
    # the fifty labels with a placeholder took a sixth of the wording's load in every new
    # process.
    bucket = COMPILED.get_bucket(_LABELS, _LABEL_PREFIX + raw, None, raw)
    code = bucket.code
    if code is None:
        code = bucket.code = _LABELS.compile(raw)
        COMPILED.set_bucket(bucket)
    return _LABELS.template_class.from_code(_LABELS, code, _LABELS.make_globals(None), None)


# Button labels are plain text (Telegram shows them as typed), never HTML: escaping
# would show "&amp;" on a button.
_LABELS = jinja2.Environment(autoescape=False)  # noqa: S701
# The names labels are kept under in the cache, apart from the templates' (area/name.j2).
_LABEL_PREFIX = "label:"


def html_to_plain(text: str) -> str:
    """Telegram HTML to plain text for the terminal: drop tags, keep links' targets."""
    text = re.sub(r'<a\s+href="([^"]*)">(.*?)</a>', r"\2 (\1)", text, flags=re.S)
    text = _TAG.sub("", text)
    return html.unescape(text)


def escape(text: str) -> str:
    return html.escape(text, quote=False)
