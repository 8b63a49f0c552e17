"""Reading a household roster (.csv in UTF-8, or .xlsx): the header, and every row
checked against regions.yml, the phone format, the size and the categories.

``read_roster(path, regions)`` returns the rows and the problems; a problem is a
line number, a code (its message is the label ``visits.import.<code>``) and the
values the message names. A roster with any problem is imported not at all.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.calendar import china_today

HEADER = (
    "户主姓名",
    "身份证后四位",
    "市州",
    "区县",
    "乡镇街道",
    "村社区",
    "地址",
    "电话",
    "类别",
    "人数",
    "备注",
)
# An optional 12th column: the head of household's year of birth (for the 80+ living
# alone flag, #17 point 5). A roster without it reads as before.
BIRTH_YEAR = "出生年份"
OLDEST_BIRTH_YEAR = 1900
CATEGORIES = (
    "低保",
    "特困",
    "低保边缘",
    "刚性支出",
    "孤儿",
    "事实无人抚养儿童",
    "残疾",
    "留守老人",
    "留守儿童",
    "困难职工",
    "其他",
)
CATEGORY_SEP = "、"
MAX_NAME_CHARS = 20
MAX_PLACE_CHARS = 30
MAX_ADDRESS_CHARS = 100
MAX_NOTE_CHARS = 200
MAX_SIZE = 30  # people in one household: more is a typing slip
MAX_ROWS = 200_000
MAX_PROBLEMS = 200  # more are counted, not listed

_ID_TAIL = re.compile(r"^\d{3}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_SIZE = re.compile(r"^\d{1,3}$")


@dataclass(frozen=True)
class Household:
    line: int
    head_name: str
    id_tail: str
    city: str
    district: str
    township: str
    village: str
    address: str
    phone: str
    categories: str
    size: int
    note: str
    birth_year: int | None = None

    @property
    def key(self) -> str:
        """The stable key: the same household in a later roster is updated in place.
        The village is not part of it (a corrected village name updates the row)."""
        return "|".join((self.city, self.district, self.township, self.head_name, self.id_tail))


@dataclass(frozen=True)
class Problem:
    line: int
    code: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Roster:
    rows: list[Household] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0  # found beyond MAX_PROBLEMS

    def problem(self, line: int, code: str, **values: Any) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, code, values))
        else:
            self.more_problems += 1


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def normalize_phone(raw: str) -> str:
    digits = raw.replace(" ", "").replace("－", "-")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def _csv_lines(data: bytes, roster: Roster) -> list[tuple[int, list[str]]] | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        roster.problem(line, "not_utf8")
        return None
    out = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            out.append((reader.line_num, cells))
    except csv.Error:
        roster.problem(reader.line_num, "bad_csv")
        return None
    return out


def _xlsx_lines(path: Path, roster: Roster) -> list[tuple[int, list[str]]] | None:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        roster.problem(1, "bad_xlsx")
        return None
    try:
        sheet = book.worksheets[0]
        out = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            out.append((number, [_cell(v) for v in row]))
        return out
    finally:
        book.close()


def read_roster(path: Path, regions: dict[str, list[str]], this_year: int | None = None) -> Roster:
    """Every row of the roster at ``path``, checked; ``this_year`` bounds 出生年份."""
    this_year = this_year or china_today().year
    roster = Roster()
    if path.suffix.lower() == ".xlsx":
        lines = _xlsx_lines(path, roster)
    elif path.suffix.lower() == ".csv":
        try:
            data = path.read_bytes()
        except OSError:
            roster.problem(1, "unreadable")
            return roster
        lines = _csv_lines(data, roster)
    else:
        roster.problem(1, "format")
        return roster
    if lines is None:
        return roster
    # Blank lines (and trailing empty cells of a spreadsheet) are not rows.
    lines = [(n, cells) for n, cells in lines if any(c.strip() for c in cells)]
    if not lines:
        roster.problem(1, "empty")
        return roster
    first_line, header = lines[0]
    header = [_cell(h) for h in header]
    while header and not header[-1]:
        header.pop()
    columns = len(header)
    if tuple(header) not in (HEADER, (*HEADER, BIRTH_YEAR)):
        roster.problem(first_line, "header", expected="，".join(HEADER), optional=BIRTH_YEAR)
        return roster
    if len(lines) - 1 > MAX_ROWS:
        roster.problem(first_line, "too_many", limit=MAX_ROWS)
        return roster
    seen: dict[str, int] = {}
    for number, cells in lines[1:]:
        cells = [_cell(c) for c in cells]
        while len(cells) > columns and not cells[-1]:
            cells.pop()
        if columns > len(HEADER) and len(cells) == len(HEADER):
            cells.append("")  # 出生年份 left empty at the end of the row
        if len(cells) != columns:
            roster.problem(number, "columns", found=len(cells), expected=columns)
            continue
        row = check_row(number, cells, regions, roster, this_year)
        if row is None:
            continue
        if row.key in seen:
            roster.problem(number, "duplicate", first=seen[row.key])
            continue
        seen[row.key] = number
        roster.rows.append(row)
    return roster


def check_row(
    number: int,
    cells: list[str],
    regions: dict[str, list[str]],
    roster: Roster,
    this_year: int = 2026,
) -> Household | None:
    name, tail, city, district, township, village, address, phone, cats, size, note = cells[:11]
    born = cells[11] if len(cells) > 11 else ""
    before = len(roster.problems) + roster.more_problems
    if not name:
        roster.problem(number, "name_empty")
    elif len(name) > MAX_NAME_CHARS:
        roster.problem(number, "name_long", limit=MAX_NAME_CHARS)
    tail = tail.upper()
    if not _ID_TAIL.match(tail):
        roster.problem(number, "id_tail")
    if city not in regions:
        roster.problem(number, "city", value=city[:20])
    elif district not in regions[city]:
        roster.problem(number, "district", value=district[:20], city=city)
    for code, value in (("township", township), ("village", village)):
        if not value:
            roster.problem(number, f"{code}_empty")
        elif len(value) > MAX_PLACE_CHARS:
            roster.problem(number, f"{code}_long", limit=MAX_PLACE_CHARS)
    if len(address) > MAX_ADDRESS_CHARS:
        roster.problem(number, "address_long", limit=MAX_ADDRESS_CHARS)
    phone = normalize_phone(phone)
    if phone and not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        roster.problem(number, "phone", digits=sum(ch.isdigit() for ch in phone))
    parts = [p.strip() for p in re.split(r"[、,，;；/]", cats) if p.strip()]
    unknown = [p for p in parts if p not in CATEGORIES]
    if not parts:
        roster.problem(number, "category_empty", allowed="、".join(CATEGORIES))
    elif unknown:
        roster.problem(number, "category", value=unknown[0][:20], allowed="、".join(CATEGORIES))
    people = 0
    if not _SIZE.match(size) or not 1 <= int(size) <= MAX_SIZE:
        roster.problem(number, "size", limit=MAX_SIZE)
    else:
        people = int(size)
    if len(note) > MAX_NOTE_CHARS:
        roster.problem(number, "note_long", limit=MAX_NOTE_CHARS)
    birth_year = None
    if born:
        digits = born.removesuffix("年")
        if not (digits.isdigit() and OLDEST_BIRTH_YEAR <= int(digits) <= this_year):
            roster.problem(number, "birth_year", first=OLDEST_BIRTH_YEAR, last=this_year)
        else:
            birth_year = int(digits)
    if len(roster.problems) + roster.more_problems != before:
        return None
    return Household(
        line=number,
        head_name=name,
        id_tail=tail,
        city=city,
        district=district,
        township=township,
        village=village,
        address=address,
        phone=phone,
        categories=CATEGORY_SEP.join(dict.fromkeys(parts)),
        size=people,
        note=note,
        birth_year=birth_year,
    )
