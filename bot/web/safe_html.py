"""The bot's Telegram HTML subset, made safe for a web page.

The engine's replies are Telegram HTML (templates are autoescaped, so residents'
words arrive escaped). Before a reply reaches a browser it is parsed again and
rebuilt from an allow-list: the formatting tags Telegram knows, links only to
http(s), tel: and mailto:, every other tag dropped (its text kept, escaped),
every attribute but a link's href dropped. Whatever a template, a content file or
a hostile input makes of the text, the page gets no script, no style and no
element that loads anything.
"""

from __future__ import annotations

import html
import html.parser
import re
from urllib.parse import urlparse

# Telegram's names -> the element the page uses.
_TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "a",
}
# Telephone numbers become tap-to-call links: the hotlines Chinese phones know, mobiles
# (1xx xxxx xxxx) and landlines with an area code (028-12345678). Not when the digits
# are part of an amount, a date or a document number (100元, 2023年, 20号).
_PHONE = re.compile(
    r"(?<![\d.\-])(12345|12349|12348|12315|12320|12333|12351|110|119|120|122|"
    r"1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\d.\-]|[元号年月日岁人个户次天%％万千百条项名])"
)
_DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}
_SCHEMES = {"http", "https", "tel", "mailto"}


def safe_href(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme.lower() not in _SCHEMES:
        return None
    if parsed.scheme.lower() in ("http", "https") and not parsed.netloc:
        return None
    return value


class _Sanitizer(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.skipping += 1
            return
        if self.skipping:
            return
        name = _TAGS.get(tag)
        if name is None:
            return
        if name == "a":
            href = safe_href(dict(attrs).get("href"))
            if href is None:
                self.open.append("")  # keep the text, not the link
                return
            self.out.append(
                f'<a href="{html.escape(href, quote=True)}" rel="noopener noreferrer"'
                ' target="_blank">'
            )
        else:
            self.out.append(f"<{name}>")
        self.open.append(name)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self.skipping:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        name = _TAGS.get(tag)
        if name is None:
            return
        # Close up to the matching open tag; a stray end tag is ignored.
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i] == name or (name == "a" and self.open[i] == ""):
                while len(self.open) > i:
                    top = self.open.pop()
                    if top:
                        self.out.append(f"</{top}>")
                return

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if any(t in ("a", "", "code", "pre") for t in self.open):
            self.out.append(html.escape(data, quote=False))
            return
        at = 0
        for m in _PHONE.finditer(data):
            self.out.append(html.escape(data[at : m.start()], quote=False))
            number = m.group(1)
            self.out.append(f'<a href="tel:{number.replace("-", "")}" class="tel">{number}</a>')
            at = m.end()
        self.out.append(html.escape(data[at:], quote=False))

    def result(self) -> str:
        while self.open:
            top = self.open.pop()
            if top:
                self.out.append(f"</{top}>")
        return "".join(self.out)


def to_safe_html(text: str) -> str:
    """Telegram HTML in, HTML a page can put in a message bubble out."""
    parser = _Sanitizer()
    parser.feed(text)
    parser.close()
    return parser.result()
