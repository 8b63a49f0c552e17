"""Typed numbers in the self-screening: the project's own patterns first, then cn2an for
amounts written with units the patterns do not know (3千, 1千5, 2万3, 壹仟伍佰)."""

from __future__ import annotations

import pytest

from bot.screening.questionnaire import NumberError, parse_number


@pytest.mark.parametrize(
    "text,value",
    [("3千", 3000), ("2千元", 2000), ("1千5", 1500), ("2万3", 23000), ("壹仟伍佰", 1500),
     ("1千五", 1500), ("两千五百块", 2500), ("贰万", 20000), ("3千块钱", 3000)],
)  # fmt: skip
def test_amounts_with_units(text, value):
    assert parse_number(text, False, 0, 10_000_000) == value


@pytest.mark.parametrize(
    "text,kind",
    [("三千abc", "not_number"), ("3千块5", "not_number"), ("千3", "not_number"),
     ("一二三", "not_number"), ("9千万万", "not_number"), ("5千万", "too_large")],
)  # fmt: skip
def test_unit_words_that_are_not_amounts(text, kind):
    with pytest.raises(NumberError) as err:
        parse_number(text, True, 0, 10_000_000)
    assert err.value.kind == kind
