"""12345 is the government service hotline, not an emergency line (国办发〔2020〕53号):
where the assistant tells people what to do in an emergency, it names 110/119/120
(and 12356 for a crisis), never 12345."""

from __future__ import annotations

import re

from bot.config import PROJECT_ROOT

# 12345 offered for 急事/紧急/危险 in the same sentence.
URGENT_12345 = re.compile(
    r"(急事|紧急|危险|情况变急)[^。\n]{0,20}12345|12345[^。\n]{0,6}(急事|紧急)"
)
WORDING = [
    *sorted((PROJECT_ROOT / "templates").rglob("*.j2")),
    *sorted((PROJECT_ROOT / "templates").rglob("*.html")),
    *sorted((PROJECT_ROOT / "templates").rglob("*.yml")),
]


def test_no_template_calls_12345_an_emergency_line():
    offending = [
        f"{path.relative_to(PROJECT_ROOT)}: {line.strip()}"
        for path in WORDING
        for line in path.read_text(encoding="utf-8").splitlines()
        if URGENT_12345.search(line)
    ]
    assert offending == []


async def test_the_menu_names_the_emergency_numbers(chat):
    await chat.send("/start")
    assert chat.templates() == ["core/menu"]
    text = chat.text()
    for number in ("110", "119", "120", "12356"):
        assert number in text
    assert "12345" not in text


async def test_help_and_the_error_reply_name_the_emergency_numbers(app, chat):
    await chat.send("/help")
    text = chat.text()
    assert all(n in text for n in ("110", "119", "120", "12356"))
    assert "不是急救电话" in text  # 12345 is named, and said not to be for emergencies
    error = app.engine.renderer.render("core/error")
    assert all(n in error for n in ("110", "119", "120")) and "12345" not in error
