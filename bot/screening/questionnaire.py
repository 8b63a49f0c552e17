"""The questionnaire as data (``intents/questionnaire.yml``) and typed-answer parsing.

Each question sets one fact (options may set a few more, e.g. "家里没有能干活的人"
also sets members_able_to_work = 0). Which question comes next is decided by the
rules: only what a still-undecided program needs is asked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import LineDict, LineList, Report, load_yaml_file
from bot.manifest import content_path
from bot.screening.expr import Expr, ExprError, compile_expr
from bot.screening.facts import FACTS, InvalidAnswer, check_value

TYPES = ("choice", "integer", "number")
MAX_OPTIONS = 30
# Facts the screening must never ask for, whatever the content says.
FORBIDDEN_WORDS = ("姓名", "名字", "身份证号", "电话", "手机号")


@dataclass(frozen=True)
class Option:
    value: Any
    label: str
    also: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assumption:
    when: Expr
    value: Any
    line: int


@dataclass(frozen=True)
class Question:
    fact: str
    label: str  # short name of the fact, e.g. 家里每月总收入
    prompt: str
    hint: str
    type: str
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    columns: int = 1
    allow_unknown: bool = True
    assume: tuple[Assumption, ...] = ()
    line: int = 1
    prompt_other: str = ""  # wording when someone answers for another person
    hint_other: str = ""

    @property
    def id(self) -> str:
        return self.fact

    def sets(self) -> set[str]:
        out = {self.fact}
        for o in self.options:
            out |= set(o.also)
        return out


@dataclass
class Questionnaire:
    questions: list[Question]

    def get(self, fact: str) -> Question | None:
        for q in self.questions:
            if q.fact == fact:
                return q
        return None

    def labels(self) -> dict[str, str]:
        out = {q.fact: q.label for q in self.questions}
        for q in self.questions:
            for f in q.sets():
                out.setdefault(f, q.label)
        return out


# -- typed numbers -------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_SUFFIX = re.compile(r"(块钱|块|元钱|元|人民币|口人|个人|口|人|个|岁|名|位|周岁|左右|多)+$")


class NumberError(ValueError):
    def __init__(self, kind: str) -> None:
        self.kind = kind  # "not_number" | "negative" | "not_integer" | "too_small" | "too_large"
        super().__init__(kind)


def _chinese(text: str) -> int | None:
    """一千五 → 1500, 三千二百 → 3200, 两万 → 20000, 十五 → 15, 一百零五 → 105."""
    if not text or any(ch not in _DIGITS and ch not in _UNITS and ch != "万" for ch in text):
        return None
    total = section = 0
    number: int | None = None
    last_unit = 1
    prev = ""
    for ch in text:
        if ch in _DIGITS:
            if prev in _DIGITS and prev not in "零〇":
                return None  # 一二三 is not a number word
            number = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if number is None else number) * _UNITS[ch]
            number, last_unit = None, _UNITS[ch]
        else:  # 万
            total += (section + (number or 0)) * 10000
            section, number, last_unit = 0, None, 10000
        prev = ch
    if number is not None:
        # 一千五 means 1500: a bare digit right after a unit is one place lower
        if len(text) > 1 and text[-2] in "百千万" and last_unit >= 100:
            number *= last_unit // 10
        section += number
    return total + section


_CN_UNIT = re.compile(r"[十百千万亿拾佰仟萬億]")


def _cn2an(text: str) -> float | None:
    """What the patterns above miss, with a number unit in it: 3千, 1千5, 2万3, 壹仟伍佰
    (cn2an, imported on first use: it takes half a second to load)."""
    if not _CN_UNIT.search(text) or len(text) > 40:
        return None
    import warnings

    import cn2an

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = cn2an.cn2an(text, "smart")
        except (ValueError, KeyError, IndexError, TypeError):
            return None
    return float(value) if isinstance(value, int | float) else None


def parse_number(text: str, integer: bool, minimum: float | None, maximum: float | None):
    """A typed number: '1500', '1,500', '１５００', '1500元', '1.5万', '一千五'."""
    t = unicodedata.normalize("NFKC", text).strip()
    t = t.replace(",", "").replace("，", "").replace(" ", "")
    t = _SUFFIX.sub("", t)
    negative = t.startswith("-") or t.startswith("负")
    if negative:
        t = t[1:]
    value: float | None = None
    if re.fullmatch(r"\d+(\.\d+)?", t):
        value = float(t)
    elif re.fullmatch(r"\d+(\.\d+)?万", t):
        value = float(t[:-1]) * 10000
    else:
        cn = _chinese(t)
        value = float(cn) if cn is not None else _cn2an(t)
    if value is None or len(t) > 40:
        raise NumberError("not_number")
    if negative and value != 0:
        raise NumberError("negative")
    if maximum is not None and value > maximum:
        raise NumberError("too_large")
    if integer and not value.is_integer():
        raise NumberError("not_integer")
    if minimum is not None and value < minimum:
        raise NumberError("too_small")
    if value.is_integer():
        return int(value)
    return value


# -- loading -------------------------------------------------------------------


def load_questionnaire(
    root: Path, report: Report, expr_names: set[str], programs: set[str]
) -> Questionnaire | None:
    path = content_path(root, "questionnaire")
    if not path.exists():
        report.error(path, 1, "missing: the screening questionnaire")
        return None
    data = load_yaml_file(path, report)
    if data is None:
        return None
    items = data.get("questions") if isinstance(data, LineDict) else None
    if not isinstance(items, LineList) or not items:
        report.error(path, 1, "expected a mapping with a list of 'questions'")
        return None
    out: list[Question] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        line = items.line_of(i)
        q = _question(raw, path, line, report, expr_names, programs)
        if q is None:
            continue
        if q.fact in seen:
            report.error(path, line, f"fact {q.fact!r} is asked twice")
            continue
        seen.add(q.fact)
        out.append(q)
    return Questionnaire(out)


def _question(
    raw: Any, path: Path, line: int, report: Report, expr_names: set[str], programs: set[str]
) -> Question | None:
    if not isinstance(raw, LineDict):
        report.error(path, line, "a question is a mapping with fact, label, prompt, type")
        return None
    ok = True
    fact = raw.get("fact")
    if fact not in FACTS:
        report.error(path, raw.line_of("fact"), f"unknown fact {fact!r}")
        return None
    for key in ("label", "prompt"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            report.error(path, raw.line_of(key), f"{fact}: missing {key}")
            ok = False
    text = "".join(str(raw.get(k) or "") for k in ("prompt", "hint", "prompt_other", "hint_other"))
    for word in FORBIDDEN_WORDS:
        if word in text:
            report.error(path, raw.line_of("prompt"), f"{fact}: never ask for {word}")
            ok = False
    qtype = raw.get("type")
    if qtype not in TYPES:
        report.error(path, raw.line_of("type"), f"{fact}: type must be one of {', '.join(TYPES)}")
        return None
    kind = FACTS[fact].kind
    if qtype == "integer" and kind != "int" or qtype == "number" and kind not in ("number",):
        report.error(path, raw.line_of("type"), f"{fact}: type {qtype} does not fit a {kind} fact")
        ok = False
    options: list[Option] = []
    if qtype == "choice":
        raw_opts = raw.get("options")
        if not isinstance(raw_opts, LineList) or not 2 <= len(raw_opts) <= MAX_OPTIONS:
            report.error(path, raw.line_of("options"), f"{fact}: 2–{MAX_OPTIONS} options needed")
            return None
        values = set()
        for j, o in enumerate(raw_opts):
            oline = raw_opts.line_of(j)
            if (
                not isinstance(o, LineDict)
                or "value" not in o
                or not isinstance(o.get("label"), str)
            ):
                report.error(path, oline, f"{fact}: an option needs a value and a label")
                ok = False
                continue
            try:
                value = check_value(fact, o["value"])
                also = o.get("also") or {}
                if not isinstance(also, dict):
                    raise InvalidAnswer("also", "expected a mapping of facts to values")
                also = {k: check_value(k, v) for k, v in also.items()}
            except InvalidAnswer as exc:
                report.error(path, oline, f"{fact}: option {exc}")
                ok = False
                continue
            if fact in also:
                report.error(path, oline, f"{fact}: 'also' repeats the question's own fact")
                ok = False
            option_key = (value, tuple(sorted(also.items())))
            if option_key in values:
                report.error(path, oline, f"{fact}: option value {value!r} listed twice")
                ok = False
            values.add(option_key)
            options.append(Option(value, o["label"].strip(), also))
    minimum = maximum = None
    if qtype in ("integer", "number"):
        f = FACTS[fact]
        minimum = raw.get("min", f.minimum)
        maximum = raw.get("max", f.maximum)
        for key, v in (("min", minimum), ("max", maximum)):
            if v is None or isinstance(v, bool) or not isinstance(v, int | float):
                report.error(path, raw.line_of(key), f"{fact}: {key} must be a number")
                ok = False
        if (
            ok
            and minimum is not None
            and maximum is not None
            and (
                (f.minimum is not None and minimum < f.minimum)
                or (f.maximum is not None and maximum > f.maximum)
                or minimum > maximum
            )
        ):
            report.error(
                path,
                raw.line_of("min"),
                f"{fact}: min/max must lie within {f.minimum:g}–{f.maximum:g}",
            )
            ok = False
    assumptions: list[Assumption] = []
    raw_assume = raw.get("assume") or []
    if not isinstance(raw_assume, list):
        report.error(path, raw.line_of("assume"), f"{fact}: assume must be a list")
        raw_assume = []
    for j, a in enumerate(raw_assume):
        aline = raw_assume.line_of(j) if isinstance(raw_assume, LineList) else line
        if not isinstance(a, LineDict) or "if" not in a or "value" not in a:
            report.error(path, aline, f"{fact}: an assumption needs 'if' and 'value'")
            ok = False
            continue
        try:
            when = compile_expr(a["if"], expr_names, programs)
            value = check_value(fact, a["value"])
        except (ExprError, InvalidAnswer) as exc:
            report.error(path, a.line_of("if"), f"{fact}: assume: {exc}")
            ok = False
            continue
        assumptions.append(Assumption(when, value, aline))
    allow_unknown = raw.get("unknown", True)
    if not isinstance(allow_unknown, bool):
        report.error(path, raw.line_of("unknown"), f"{fact}: unknown must be true or false")
        ok = False
    columns = raw.get("columns", 1)
    if isinstance(columns, bool) or not isinstance(columns, int) or not 1 <= columns <= 4:
        report.error(path, raw.line_of("columns"), f"{fact}: columns must be 1–4")
        ok = False
    if not ok:
        return None
    return Question(
        fact=fact,
        label=raw["label"].strip(),
        prompt=raw["prompt"].strip(),
        hint=str(raw.get("hint") or "").strip(),
        type=qtype,
        options=tuple(options),
        minimum=minimum,
        maximum=maximum,
        unit=str(raw.get("unit") or "").strip(),
        columns=columns,
        allow_unknown=allow_unknown,
        assume=tuple(assumptions),
        line=line,
        prompt_other=str(raw.get("prompt_other") or "").strip(),
        hint_other=str(raw.get("hint_other") or "").strip(),
    )
