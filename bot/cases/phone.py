"""Mainland China phone numbers: what residents type, normalised for storage."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-－—–()（）.·]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010 and 020-029 have three digits, the others four (0xxx).
_LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})([2-9]\d{6,7})$")


def normalize_phone(text: str | None) -> str | None:
    """A mobile as 11 digits, a landline as ``0xx-xxxxxxxx``; None when it is neither.

    Accepts spaces, dashes, brackets and a +86 / 0086 / 86 prefix."""
    if not text:
        return None
    raw = _SEPARATORS.sub("", text.strip().translate(_FULLWIDTH))
    if len(raw) > 24:
        return None
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    else:
        if raw.startswith("86") and len(raw) == 13:
            raw = raw[2:]
    if not raw.isdigit():
        return None
    if _MOBILE.match(raw):
        return raw
    m = _LANDLINE.match(raw)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    return None


_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")
