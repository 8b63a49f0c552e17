"""Every sentence the assistant says, rendered from jinja2 templates.

Templates live in ``templates/<locale>/`` as ``<name>.j2`` and produce the HTML
subset Telegram accepts (<b>, <i>, <u>, <s>, <code>, <pre>, <a>, <blockquote>).
Autoescape is always on, so text a user typed can never inject markup. Button
labels are short strings in ``templates/<locale>/labels.yml`` and ``labels/*.yml``. A template
missing in the requested locale falls back to zh-CN, so a new locale can be
added piece by piece.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

FALLBACK_LOCALE = "zh-CN"
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^>]*)?>")
_MANY_BLANKS = re.compile(r"\n{3,}")
_PLAIN = (bool, int, float, type(None))
RENDER_CACHE_SIZE = 1024


def mask_phone(value: Any) -> str:
    """138****1234 for mobiles; keep area code and last 4 digits of a landline."""
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


class Renderer:
    def __init__(self, templates_dir: Path, locale: str = FALLBACK_LOCALE) -> None:
        self.templates_dir = Path(templates_dir)
        self.locale = locale
        search = [str(self.templates_dir / locale)]
        if locale != FALLBACK_LOCALE:
            search.append(str(self.templates_dir / FALLBACK_LOCALE))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            undefined=jinja2.StrictUndefined,
            # Templates are read once per process, like the labels: a content reload
            # does not touch them, and without this jinja would stat the template's
            # file on every message to see whether it changed.
            auto_reload=False,
        )
        self.env.filters["mask_phone"] = mask_phone
        self.env.filters["yuan"] = lambda v: (
            f"{v:,.0f}".replace(",", "") if isinstance(v, int | float) else v
        )
        self._labels = self._load_labels()
        self._rendered: dict[tuple[Any, ...], str] = {}

    def _load_labels(self) -> dict[str, str]:
        """``labels.yml`` plus one ``labels/<feature>.yml`` per feature; a key defined
        twice in one locale is an error."""
        labels: dict[str, str] = {}
        for loc in dict.fromkeys((FALLBACK_LOCALE, self.locale)):
            base = self.templates_dir / loc
            seen: dict[str, Path] = {}
            for path in [base / "labels.yml", *sorted((base / "labels").glob("*.yml"))]:
                if not path.exists():
                    continue
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                if not isinstance(data, dict):
                    raise ValueError(f"{path}: expected a mapping of label keys to texts")
                for key, value in data.items():
                    if str(key) in seen:
                        raise ValueError(f"{path}: label {key!r} is also in {seen[str(key)]}")
                    seen[str(key)] = path
                    labels[str(key)] = str(value)
        return labels

    def render(self, name: str, **context: Any) -> str:
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
            return text
        return self._render(name, context)

    def _render(self, name: str, context: dict[str, Any]) -> str:
        text = self.env.get_template(f"{name}.j2").render(**context)
        lines = [line.rstrip() for line in text.strip().splitlines()]
        return _MANY_BLANKS.sub("\n\n", "\n".join(lines))

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


@lru_cache(maxsize=512)
def _label_template(raw: str) -> jinja2.Template:
    # Button labels are plain text (Telegram shows them as typed), never HTML: escaping
    # would show "&amp;" on a button.
    return jinja2.Environment(autoescape=False).from_string(raw)  # noqa: S701


def html_to_plain(text: str) -> str:
    """Telegram HTML to plain text for the terminal: drop tags, keep links' targets."""
    text = re.sub(r'<a\s+href="([^"]*)">(.*?)</a>', r"\2 (\1)", text, flags=re.S)
    text = _TAG.sub("", text)
    return html.unescape(text)


def escape(text: str) -> str:
    return html.escape(text, quote=False)
