"""The screening engine: expressions, standards, rules, household cases, CLI, check."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import PROJECT_ROOT
from bot.content import ContentHolder, Report, load_content
from bot.screening.expr import ExprError, compile_expr, evaluate
from bot.screening.facts import FACTS, PROGRAMS, REGIONS, InvalidAnswer, validate_answers
from bot.screening.questionnaire import NumberError, parse_number
from bot.screening.result import screen

HOUSEHOLDS = PROJECT_ROOT / "tests" / "data" / "households"
MY_FILES = ("policy_texts/standards.yml", "policy_texts/eligibility/", "intents/questionnaire.yml")


def _cases():
    for path in sorted(HOUSEHOLDS.glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{path.stem}:{case['name']}")


CASES = list(_cases())


@pytest.fixture(scope="module")
def screening():
    content, report = load_content(PROJECT_ROOT)
    mine = [p for p in report.errors if p.path.startswith(MY_FILES)]
    assert not mine, "\n".join(map(str, mine))
    assert content.screening is not None
    return content.screening


def _date(case) -> dt.date:
    d = case["date"]
    return d if isinstance(d, dt.date) else dt.date.fromisoformat(d)


# -- household cases ---------------------------------------------------------------


def test_enough_cases_cover_every_program_and_verdict():
    assert len(CASES) >= 60
    seen = {(p, v) for c in CASES for p, v in c.values[0]["output"].items()}
    for pid in PROGRAMS:
        for verdict in ("likely", "possible", "unlikely"):
            assert (pid, verdict) in seen, f"no case where {pid} is {verdict}"


@pytest.mark.parametrize("case", CASES)
def test_household_rules(screening, case):
    answers = validate_answers(case["input"])
    out = screen(screening, answers, _date(case))
    got = {r["program"]: r["verdict"] for r in out["results"]}
    assert list(got) == list(PROGRAMS)
    for pid, verdict in case["output"].items():
        assert got[pid] == verdict, f"{pid}: {got[pid]} != {verdict}"
    for fact in case.get("unknown", []):
        assert fact in out["unknown"]
    for fact in case.get("not_unknown", []):
        assert fact not in out["unknown"]
    for r in out["results"]:
        assert r["reasons"], f"{r['program']} has no reason"
        for reason in r["reasons"]:
            assert "{" not in reason and "None" not in reason
    said = {r["program"]: "\n".join(r["reasons"]) for r in out["results"]}
    for pid, texts in case.get("reasons", {}).items():
        for text in texts:
            assert str(text) in said[pid], f"{pid}: {text!r} not in {said[pid]!r}"
    for pid, texts in case.get("no_reasons", {}).items():
        for text in texts:
            assert str(text) not in said[pid], f"{pid}: {text!r} in {said[pid]!r}"
    warnings = "\n".join(out["warnings"])
    for text in case.get("warnings", []):
        assert text in warnings, f"{text!r} not in {warnings!r}"
    if case.get("no_warnings"):
        assert out["warnings"] == []


@pytest.fixture
def bundled_loaded_once(monkeypatch, bundled_content):
    """The commands' load of the bundled content answered with the snapshot this worker
    has loaded already (a load takes a second or two; the commands' own loads are run by
    the other tests of the command line)."""
    real = ContentHolder.load.__func__

    def load(cls, root, *args, **kwargs):
        if Path(root) != PROJECT_ROOT or args or kwargs:
            return real(cls, root, *args, **kwargs)
        return cls(root, bundled_content), Report(Path(root))

    monkeypatch.setattr(ContentHolder, "load", classmethod(load))


@pytest.mark.parametrize("case", CASES[::3])
def test_household_cli(tmp_path, capsys, case, bundled_loaded_once):
    path = tmp_path / "answers.yml"
    path.write_text(yaml.safe_dump(case["input"], allow_unicode=True), encoding="utf-8")
    rc = main(["screen", "--answers", str(path), "--date", str(case["date"]), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    got = {r["program"]: r["verdict"] for r in out["results"]}
    for pid, verdict in case["output"].items():
        assert got[pid] == verdict
    assert set(out) == {"results", "unknown", "standards", "warnings"}
    for s in out["standards"]:
        assert {"measure", "title", "value", "from", "year", "source", "stale"} <= set(s)
    for r in out["results"]:
        assert set(r) == {"program", "verdict", "reasons", "documents"}
        assert all(isinstance(d, str) for d in r["documents"])


def test_reason_cites_the_figure_region_and_year(screening):
    ans = {"region": "成都市", "area": "urban", "household_size": 2, "monthly_income": 600}
    out = screen(screening, ans, dt.date(2023, 5, 1))
    dibao = next(r for r in out["results"] if r["program"] == "dibao")
    assert "您家人均月收入 300 元，低于成都市 2023 年低保标准 910 元" in dibao["reasons"][0]


def test_floor_fallback_is_said_to_be_unconfirmed(screening):
    ans = {"region": "自贡市", "area": "rural", "household_size": 1, "monthly_income": 100}
    out = screen(screening, ans, dt.date(2024, 1, 1))
    reason = next(r for r in out["results"] if r["program"] == "dibao")["reasons"][0]
    assert "四川省 2023 年农村低保最低标准 533 元" in reason
    assert "自贡市" in reason and "全省最低标准" in reason


def test_documents_depend_on_the_household(screening):
    base = {"region": "成都市", "area": "urban", "household_size": 1, "monthly_income": 100}
    no_disab = screen(screening, {**base, "disability_grade": 0, "medical_burden": False},
                      dt.date(2024, 1, 1))  # fmt: skip
    disab = screen(screening, {**base, "disability_grade": 2}, dt.date(2024, 1, 1))
    docs = {r["program"]: r["documents"] for r in no_disab["results"]}
    assert "残疾证" not in docs["dibao"] and "身份证" in docs["dibao"]
    assert "残疾证" in {r["program"]: r["documents"] for r in disab["results"]}["dibao"]


def test_cli_rejects_invalid_answers(tmp_path, capsys):
    bad = [
        ({"region": "成都"}, "region"),
        ({"monthly_income": -5}, "monthly_income"),
        ({"household_size": "three"}, "household_size"),
        ({"has_supporter": "yes"}, "has_supporter"),
        ({"income": 100}, "income"),
        ({"household_size": 2, "students": 5}, "students"),
        ({"monthly_income": 10**12}, "monthly_income"),
        ({"household_size": 1.5}, "household_size"),
        ({"disability_grade": 5}, "disability_grade"),
        ({"savings_per_person": -1}, "savings_per_person"),
        ({"financial_assets": -2000}, "financial_assets"),
        ({"has_car": "yes"}, "has_car"),
        ({"has_property": 1}, "has_property"),
        ({"savings_per_person": "很多"}, "savings_per_person"),
    ]
    # The real command once, as a process; the rest in-process through the same main
    # (a Python start per case would cost more than all the checks together).
    path = tmp_path / "a.json"
    path.write_text(json.dumps(bad[0][0], ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "screen", "--answers", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert bad[0][1] in proc.stderr
    for answers, fact in bad:
        path = tmp_path / "a.json"
        path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
        code = main(["screen", "--answers", str(path), "--json"])
        out, err = capsys.readouterr()
        assert code == 2, (answers, err)
        assert out == ""
        assert fact in err


def test_cli_reads_stdin_and_prints_text(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("region: 成都市\nhousehold_size: 1\n"))
    assert main(["screen", "--answers", "-", "--date", "2023-05-01"]) == 0
    out = capsys.readouterr().out
    assert "乡镇人民政府或街道办事处" in out and "<b>" not in out


@pytest.mark.slow(5)
def test_cli_date_drives_staleness(tmp_path, capsys):
    path = tmp_path / "a.yml"
    path.write_text(
        "region: 成都市\narea: urban\nhousehold_size: 1\nmonthly_income: 500\n"
        "savings_per_person: 0\nhas_car: false\nhas_property: false\n",
        encoding="utf-8",
    )
    assert main(["screen", "--answers", str(path), "--date", "2026-12-01"]) == 0
    fresh = capsys.readouterr().out
    assert "成都市 2026 年低保标准 1120 元" in fresh and "一年多" not in fresh
    assert "大约每月补 620 元" in fresh
    assert main(["screen", "--answers", str(path), "--date", "2027-02-01"]) == 0
    old = capsys.readouterr().out
    assert "成都市 2026 年低保标准是 2026 年 1 月起执行的，已经一年多了" in old
    assert "大约每月补" not in old
    assert main(["screen", "--answers", str(path), "--date", "2027-02-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    used = {s["measure"]: s for s in out["standards"]}
    assert used["dibao_standard"]["stale"] and used["dibao_standard"]["from"] == "2026-01-01"
    assert used["savings_large"]["admin_set"] and not used["savings_large"]["stale"]


def test_cli_bad_date(tmp_path, capsys):
    path = tmp_path / "a.yml"
    path.write_text("{}", encoding="utf-8")
    assert main(["screen", "--answers", str(path), "--date", "2023-13-01", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--date" in captured.err


# -- facts ---------------------------------------------------------------------------


def test_facts_contract():
    assert len(REGIONS) == 21 and len(PROGRAMS) == 14
    assert validate_answers({"monthly_income": 1500.5, "region": None}) == {
        "monthly_income": 1500.5
    }
    with pytest.raises(InvalidAnswer) as err:
        validate_answers({"household_size": True})
    assert err.value.fact == "household_size"
    assert set(FACTS) >= {"region", "area", "disaster_affected"}


# -- the expression language -----------------------------------------------------------


class _Env:
    def __init__(self, values, programs=None):
        self.values, self.programs = values, programs or {}

    def value(self, name):
        v = self.values.get(name)
        return (v, frozenset()) if v is not None else (None, frozenset({name}))

    def qualifies(self, program):
        return self.programs.get(program), frozenset({f"p:{program}"})


NAMES = {"a", "b", "c", "s"}


def _ev(src, **values):
    return evaluate(compile_expr(src, NAMES, {"dibao"}), _Env(values))


@pytest.mark.parametrize(
    "src",
    [
        "__import__('os')",
        "a.__class__",
        "open('x')",
        "eval('1')",
        "[x for x in a]",
        "lambda: 1",
        "a if b else c",
        "d > 1",
        "a ** 2",
        "a[0]",
        "qualifies('nope')",
        "qualifies(a)",
        "known(1)",
        "min(a)",
        "a in b",
        "f'{a}'",
        "",
        "a >",
        "None",
        "x" * 600,
    ],
)
def test_disallowed_expressions(src):
    with pytest.raises(ExprError):
        compile_expr(src, NAMES, {"dibao"})


def test_three_valued_logic():
    assert _ev("a < 5", a=3) == (True, frozenset())
    assert _ev("a < 5") == (None, frozenset({"a"}))
    assert _ev("a < 5 and b > 1", b=0) == (False, frozenset())
    assert _ev("a < 5 or b > 1", b=2) == (True, frozenset())
    assert _ev("a < 5 and b > 1") == (None, frozenset({"a", "b"}))
    assert _ev("not a", a=False) == (True, frozenset())
    assert _ev("a * 1.5 + 1", a=2) == (4.0, frozenset())
    assert _ev("s in ('x', 'y')", s="y") == (True, frozenset())
    assert _ev("known(a)") == (False, frozenset())
    assert _ev("known(a) and a == 0") == (False, frozenset())
    assert _ev("max(a, 3)", a=5) == (5, frozenset())
    assert _ev("1 < a < 3", a=2) == (True, frozenset())
    assert _ev("1 < a < 3", a=5) == (False, frozenset())


def test_qualifies_passes_unknowns_through():
    e = compile_expr('qualifies("dibao") or a', NAMES, {"dibao"})
    assert evaluate(e, _Env({"a": True}, {"dibao": None}))[0] is True
    assert evaluate(e, _Env({}, {"dibao": None})) == (None, frozenset({"p:dibao", "a"}))


# -- typed numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,value",
    [("1500", 1500), ("1,500", 1500), ("１５００", 1500), ("1500元", 1500), ("1500 块", 1500),
     ("一千五", 1500), ("两千", 2000), ("1.5万", 15000), ("0", 0), ("三千二百", 3200),
     ("一百零五", 105), ("十五", 15)],
)  # fmt: skip
def test_parse_number(text, value):
    assert parse_number(text, False, 0, 10_000_000) == value


@pytest.mark.parametrize(
    "text,kind",
    [("abc", "not_number"), ("-5", "negative"), ("1000000000000", "too_large"),
     ("2.5", "not_integer"), ("", "not_number"), ("一二三", "not_number")],
)  # fmt: skip
def test_parse_number_errors(text, kind):
    with pytest.raises(NumberError) as err:
        parse_number(text, True, 0, 10_000_000)
    assert err.value.kind == kind


# -- standards -------------------------------------------------------------------------------


def test_every_region_has_both_standards_on_every_date(screening):
    for measure in ("dibao_standard", "tekun_standard"):
        for region in REGIONS:
            for area in ("urban", "rural"):
                for day in (dt.date(2021, 12, 1), dt.date(2022, 7, 1), dt.date(2025, 1, 1)):
                    s = screening.standards.lookup(measure, region, area, day)
                    assert s is not None and s.value > 0 and s.source
    assert (
        screening.standards.lookup("dibao_standard", "成都市", "urban", dt.date(2021, 11, 30))
        is None
    )


def test_standard_changes_on_its_date(screening):
    look = screening.standards.lookup
    assert look("dibao_standard", "成都市", "rural", dt.date(2022, 12, 31)).value == 870
    assert look("dibao_standard", "成都市", "rural", dt.date(2023, 1, 1)).value == 910
    assert look("dibao_standard", "成都市", "rural", dt.date(2023, 1, 1)).low == 860
    assert look("tekun_standard", "资阳市", "urban", dt.date(2023, 6, 30)).value == 890
    s = look("tekun_standard", "资阳市", "urban", dt.date(2023, 7, 1))
    assert s.value == 962 and s.fallback and not s.confirmed
    assert look("dibao_standard", "雅安市", "rural", dt.date(2022, 1, 1)).confidence == "M"


# -- sanliang check on broken content ----------------------------------------------------------


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    for d in ("policy_texts", "intents", "templates"):
        shutil.copytree(PROJECT_ROOT / d, tmp_path / d)
    return tmp_path


def _problems(root: Path, severity="error") -> list[str]:
    _content, report = load_content(root)
    probs = report.errors if severity == "error" else report.warnings
    return [str(p) for p in probs if p.path.startswith(MY_FILES)]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_check_accepts_the_bundled_files():
    assert _problems(PROJECT_ROOT) == []


def test_check_warns_on_unconfirmed_values():
    warnings = _problems(PROJECT_ROOT, "warning")
    assert any("自贡市" in w and "provincial floor" in w for w in warnings)
    assert any(
        "confidence M" in w and w.startswith("policy_texts/standards.yml:") for w in warnings
    )
    # every kind an administrator has to look at, by its prefix
    std = [w.split(": warning: ", 1)[1] for w in warnings if "standards.yml" in w]
    assert any(w.startswith("admin-set: savings_large") for w in std)
    assert any(w.startswith("inferred: dibao_standard province from 2024-07-01") for w in std)
    assert any(w.startswith("derived: tekun_standard 成都市") for w in std)
    assert any(w.startswith("floor: dibao_standard 南充市") for w in std)
    # the newest figure of 南充 (the 2024 floor) is past 12 months today
    assert any(w.startswith("stale: dibao_standard 南充市") for w in std)


def test_check_lists_stale_figures_on_a_given_day():
    from bot.content import Report
    from bot.screening.standards_load import load_standards

    report = Report(PROJECT_ROOT)
    load_standards(PROJECT_ROOT, report, today=dt.date(2026, 12, 1))
    stale = [str(p) for p in report.warnings if "stale:" in str(p)]
    assert any("dibao_standard 泸州市" in w for w in stale)
    assert not any("dibao_standard 成都市" in w for w in stale)
    report = Report(PROJECT_ROOT)
    load_standards(PROJECT_ROOT, report, today=dt.date(2027, 2, 1))
    stale = [str(p) for p in report.warnings if "stale:" in str(p)]
    assert any("dibao_standard 成都市" in w for w in stale)


@pytest.mark.parametrize(
    "file,old,new,message",
    [
        ("policy_texts/eligibility/dibao.yml", "per_capita_income < dibao_standard_low",
         "per_capita_incom < dibao_standard_low", "unknown name 'per_capita_incom'"),
        ("policy_texts/eligibility/dibao.yml", "per_capita_income < dibao_standard_low",
         "__import__('os').system('x')", "unknown function"),
        ("policy_texts/eligibility/dibao.yml", "per_capita_income < dibao_standard_low",
         "per_capita_income ** 2 < 1", "not allowed"),
        ("policy_texts/eligibility/tekun.yml", "reason: 没有法定赡养",
         "reason: 没有{nonsense}法定赡养", "unknown placeholder"),
        ("policy_texts/eligibility/medical-assistance.yml", 'qualifies("tekun")',
         'qualifies("tekunn")', "unknown program id 'tekunn'"),
        ("policy_texts/eligibility/orphan-support.yml", "program: orphan-support",
         "program: orphans", "differs from the file name"),
        ("policy_texts/standards.yml", "      自贡市: floor", "      自贡: floor",
         "unknown region '自贡'"),
        ("policy_texts/standards.yml", "          source: 成府发〔2022〕20号《成都市人民政府关于提高最低生活保障标准的通知》（有效期1年）\n", "",
         "missing source"),
        ("policy_texts/standards.yml", "        confidence: H\n", "        confidence: X\n",
         "confidence must be one of"),
        ("policy_texts/standards.yml", "        checked: 2026-12-01\n", "        checked: yesterday\n",
         "'checked' must be a date"),
        ("policy_texts/standards.yml", "        inferred: true\n", "        inferred: maybe\n",
         "inferred must be true or false"),
        ("policy_texts/standards.yml", "      factor: 1.3\n", "      factor: -1\n",
         "factor must be a number > 0"),
        ("policy_texts/standards.yml", "      measure: dibao_standard\n", "      measure: dibao\n",
         "derive from unknown measure 'dibao'"),
        ("policy_texts/standards.yml", "已经一年多了", "已经{months}个月了",
         "texts stale: unknown placeholder months"),
        ("policy_texts/standards.yml", "        value: 30000\n", "        value: 25000\n",
         "not the lower bound of a savings band"),
        ("intents/questionnaire.yml", "  - fact: household_size", "  - fact: household",
         "unknown fact 'household'"),
        ("intents/questionnaire.yml", "prompt: 您家一共有几口人？",
         "prompt: 请留下您的电话", "never ask"),
        ("intents/questionnaire.yml", "    max: 10000000", "    max: 10000000000000",
         "min/max must lie within"),
    ],
)  # fmt: skip
def test_check_reports_path_and_line(content_copy, file, old, new, message):
    _replace(content_copy / file, old, new)
    problems = _problems(content_copy)
    hits = [p for p in problems if message in p]
    assert hits, problems
    path, line, _rest = hits[0].split(":", 2)
    assert path == file.rstrip("/") or path.startswith(file)
    assert int(line) > 1 or "differs" in message


def test_check_reports_a_missing_program_file(content_copy):
    (content_copy / "policy_texts/eligibility/price-subsidy.yml").unlink()
    assert any("price-subsidy" in p for p in _problems(content_copy))


def test_check_reports_cycles(content_copy):
    _replace(
        content_copy / "policy_texts/eligibility/tekun.yml",
        "if: not has_supporter",
        'if: not has_supporter and not qualifies("medical-assistance")',
    )
    assert any("circle" in p for p in _problems(content_copy))


def test_check_reports_a_type_error(content_copy):
    _replace(
        content_copy / "policy_texts/eligibility/dibao.yml",
        "if: per_capita_income < dibao_standard_low",
        "if: region < 5",
    )
    assert any("cannot be evaluated" in p for p in _problems(content_copy))
