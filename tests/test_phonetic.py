"""The readings of ``bot.knowledge.phonetic`` are pypinyin's own."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from bot.knowledge.phonetic import _CJK, reading


def _through_lazy_pinyin(ch: str) -> str:
    if not _CJK.match(ch):
        return ""
    out = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore", v_to_u=False)
    return out[0] if out else ""


def test_every_character_reads_as_lazy_pinyin_reads_it() -> None:
    # ``reading`` goes to pypinyin's dictionary directly; it must say what lazy_pinyin
    # says, for every character (a pypinyin upgrade that changes that fails here).
    chars = [chr(c) for c in range(0x3000, 0xA000)]
    for ch in [*chars, "a", "1", "\uf900", "\U00020000"]:
        assert reading(ch) == _through_lazy_pinyin(ch), ch
