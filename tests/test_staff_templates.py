"""Every staff template compiles, and every label key the staff code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.render import Renderer

# The staff feature's modules (report.py builds its keys from prefixes, checked below).
STAFF_CODE = sorted(
    p for p in (PROJECT_ROOT / "bot" / "staff").glob("*.py") if p.name != "report.py"
)


def test_templates_compile():
    renderer = Renderer(PROJECT_ROOT / "templates")
    names = sorted(p.name for p in (PROJECT_ROOT / "templates/zh-CN/staff").glob("*.j2"))
    assert "new_case.j2" in names
    for name in names:
        renderer.env.get_template(f"staff/{name}")
    reports = sorted(p.name for p in (PROJECT_ROOT / "templates/zh-CN/reports").glob("*.j2"))
    assert "report.html.j2" in reports and "charts.svg.j2" in reports
    for name in reports:
        renderer.env.get_template(f"reports/{name}")


def test_label_keys_used_by_the_code_exist():
    renderer = Renderer(PROJECT_ROOT / "templates")
    used: set[str] = set()
    for path in STAFF_CODE:
        text = Path(path).read_text(encoding="utf-8")
        used |= set(re.findall(r'"(staff\.[a-z_.]+)"', text))
        used |= {f"staff.btn.{k}" for k in re.findall(r'b\("([a-z_]+)", "', text)}
    used |= {
        f"status.{s}"
        for s in (
            "new",
            "claimed",
            "in_progress",
            "resolved",
            "closed",
            "transferred",
            "withdrawn",
            "invalid",
        )
    }
    used |= {f"staff.rate.{r}" for r in ("satisfied", "basic", "unsatisfied")}
    used |= {f"staff.role.{r}" for r in ("worker", "admin")}
    missing = sorted(k for k in used if not k.endswith(".") and not renderer.has_label(k))
    assert missing == []
    assert len(used) > 20
